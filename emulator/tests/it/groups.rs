//! Groups, users, capacity.
use crate::common;
use common::*;
use pbideploy_emulator::EmulatorConfig;
use serde_json::json;

#[tokio::test]
async fn groups_lifecycle_filter_and_users() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    let other = token(&c, &url, "app-2").await;
    let a = create_group(&c, &url, &tok, "Sales - Prod").await;
    create_group(&c, &url, &tok, "Sales - Dev").await;
    let r = c
        .post(format!("{url}/v1.0/myorg/groups"))
        .bearer_auth(&tok)
        .json(&json!({"name": "sales - prod"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = c
        .get(format!("{url}/v1.0/myorg/groups"))
        .query(&[("$filter", "tolower(name) eq 'sales - prod'")])
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    let v = body(r).await;
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(v["value"][0]["id"], a.as_str());
    let v = body(
        c.get(format!("{url}/v1.0/myorg/groups?$top=1&$skip=1"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    let r = c
        .get(format!("{url}/v1.0/myorg/groups"))
        .query(&[("$filter", "name gt 'a'")])
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // non-member sees nothing
    let r = c
        .get(format!("{url}/v1.0/myorg/groups/{a}"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(body(r).await["error"]["code"], "PowerBIEntityNotFound");
    // users
    let add =
        json!({"identifier": "app-2", "principalType": "App", "groupUserAccessRight": "Viewer"});
    let r = c
        .post(format!("{url}/v1.0/myorg/groups/{a}/users"))
        .bearer_auth(&tok)
        .json(&add)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{url}/v1.0/myorg/groups/{a}/users"))
        .bearer_auth(&tok)
        .json(&add)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        c.get(format!("{url}/v1.0/myorg/groups/{a}"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // a viewer cannot add users
    let r = c
        .post(format!("{url}/v1.0/myorg/groups/{a}/users"))
        .bearer_auth(&other)
        .json(&json!({"emailAddress": "x@y", "groupUserAccessRight": "Member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c.put(format!("{url}/v1.0/myorg/groups/{a}/users")).bearer_auth(&tok).json(&json!({"identifier": "app-2", "principalType": "App", "groupUserAccessRight": "Member"})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v = body(
        c.get(format!("{url}/v1.0/myorg/groups/{a}/users"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["value"][1]["groupUserAccessRight"], "Member");
    assert_eq!(
        c.delete(format!("{url}/v1.0/myorg/groups/{a}/users/app-2"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // last admin stays
    assert_eq!(
        c.delete(format!("{url}/v1.0/myorg/groups/{a}/users/app-1"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    // capacity
    let caps = body(
        c.get(format!("{url}/v1.0/myorg/capacities"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let cap = caps["value"][0]["id"].as_str().unwrap().to_string();
    let r = c
        .post(format!("{url}/v1.0/myorg/groups/{a}/AssignToCapacity"))
        .bearer_auth(&tok)
        .json(&json!({"capacityId": cap}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = body(
        c.get(format!(
            "{url}/v1.0/myorg/groups/{a}/CapacityAssignmentStatus"
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(v["status"], "CompletedSuccessfully");
    let g = body(
        c.get(format!("{url}/v1.0/myorg/groups/{a}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(g["isOnDedicatedCapacity"], true);
    let r = c
        .post(format!("{url}/v1.0/myorg/groups/{a}/AssignToCapacity"))
        .bearer_auth(&tok)
        .json(&json!({"capacityId": "11111111-1111-1111-1111-111111111111"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        c.delete(format!("{url}/v1.0/myorg/groups/{a}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(format!("{url}/v1.0/myorg/groups/{a}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn my_workspace_forms_refuse_service_principals() {
    let (emu, c) = emulator(EmulatorConfig::default()).await;
    let url = emu.url();
    let tok = token(&c, &url, "app-1").await;
    for path in [
        "datasets",
        "reports/abc",
        "imports?datasetDisplayName=x.pbix",
    ] {
        let r = c
            .get(format!("{url}/v1.0/myorg/{path}"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(
            body(r).await["Message"],
            "API is not accessible for application"
        );
    }
    emu.shutdown().await;
}
