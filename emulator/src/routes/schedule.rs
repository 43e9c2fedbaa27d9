//! Refresh schedules: the import one (`refreshSchedule`) and the DirectQuery / LiveConnection
//! one (`directQueryRefreshSchedule`). // documented: 3.16, 3.17

use super::datasets::{find, require_owner};
use super::refresh::NOTIFY;
use super::{Role, ok, ok_empty};
use crate::app::App;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::model::DatasetMode;
use crate::util::{canon, json_body};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const DAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
/// documented: 3.17 (15, 30, 60, 120, 180 minutes).
const FREQUENCIES: &[u64] = &[15, 30, 60, 120, 180];

/// `GET …/refreshSchedule`. // documented: 3.16
pub async fn get_schedule(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Viewer)?;
        let v = serde_json::to_value(&w.model.datasets[i].refresh_schedule).unwrap_or(Value::Null);
        Ok(ok(with_context(&app, v, "RefreshSchedule")))
    })
}

/// `GET …/directQueryRefreshSchedule`. // documented: 3.17; guess: an import-mode dataset
/// is refused the same way its refreshSchedule PATCH refuses DirectQuery datasets.
pub async fn get_dq_schedule(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
) -> ApiResult {
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Viewer)?;
        if w.model.datasets[i].mode == DatasetMode::Import {
            return Err(not_direct_query());
        }
        let s = &w.model.datasets[i].direct_query_schedule;
        let v = json!({"frequency": s.frequency, "days": s.days, "times": s.times, "localTimeZoneId": s.local_time_zone_id});
        Ok(ok(with_context(&app, v, "DirectQueryRefreshSchedule")))
    })
}

fn with_context(app: &App, mut v: Value, entity: &str) -> Value {
    v["@odata.context"] = json!(format!(
        "{}/v1.0/myorg/$metadata#Microsoft.PowerBI.ServiceContracts.Api.{entity}",
        app.base_url
    ));
    v
}

fn not_direct_query() -> ApiError {
    ApiError::invalid(
        "Only DirectQuery and LiveConnection datasets have a DirectQuery refresh schedule; use refreshSchedule",
    )
}

/// The `value` object of a schedule PATCH body.
fn patch_value(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let b: Value = json_body(headers, body)?;
    b.get("value")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            ApiError::invalid("The body must wrap the schedule in 'value': {\"value\": {...}}")
        })
}

/// `days` and `times` of a PATCH, checked: day names, `HH:mm` on the hour or half hour, at
/// most 8 slots a day on shared capacity and 48 on Premium. // documented: 3.16; guess: :00/:30
type DaysTimes = (Option<Vec<String>>, Option<Vec<String>>);
fn days_and_times(patch: &Map<String, Value>, premium: bool) -> Result<DaysTimes, ApiError> {
    let strings = |k: &str| -> Result<Option<Vec<String>>, ApiError> {
        match patch.get(k) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str().map(str::to_string).ok_or_else(|| {
                        ApiError::invalid(format!("'{k}' must be a list of strings"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(ApiError::invalid(format!(
                "'{k}' must be a list of strings"
            ))),
        }
    };
    let days = match strings("days")? {
        None => None,
        Some(days) => Some(
            days.iter()
                .map(|d| {
                    canon(d, DAYS)
                        .map(str::to_string)
                        .ok_or_else(|| ApiError::invalid(format!("Invalid day '{d}'")))
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let times = strings("times")?;
    if let Some(times) = &times {
        let limit = if premium { 48 } else { 8 };
        if times.len() > limit {
            return Err(ApiError::invalid(format!(
                "At most {limit} refresh times per day are allowed on this capacity"
            )));
        }
        for t in times {
            let ok = t.len() == 5
                && t.as_bytes()[2] == b':'
                && t[..2].parse::<u8>().is_ok_and(|h| h < 24)
                && (&t[3..] == "00" || &t[3..] == "30");
            if !ok {
                return Err(ApiError::invalid(format!(
                    "Invalid time '{t}': use HH:mm on the hour or half hour"
                )));
            }
        }
    }
    Ok((days, times))
}

/// Whether the dataset's workspace is on a dedicated capacity (more refresh slots a day).
fn on_capacity(w: &crate::app::World, i: usize) -> bool {
    w.model
        .group(&w.model.datasets[i].group_id)
        .is_some_and(|g| g.capacity_id.is_some())
}

/// `localTimeZoneId` must be a Windows time-zone id. // documented: 3.16 (a Windows
/// time-zone id); guess: the code and message of the refusal are undocumented, so this
/// answers 400 `InvalidRequest` like the service's other value checks.
fn time_zone(patch: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    patch
        .get("localTimeZoneId")
        .map(|tz| {
            tz.as_str()
                .filter(|t| windows_time_zones::is_windows_time_zone(t))
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "'localTimeZoneId' must be a Windows time zone id, such as 'UTC' or 'W. Europe Standard Time'; got {tz}"
                    ))
                })
        })
        .transpose()
}

/// `PATCH …/refreshSchedule` with `{"value": {partial}}`. // documented: 3.16 (rules)
pub async fn patch_schedule(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let patch = patch_value(&headers, &body)?;
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        require_owner(w, i, &caller)?;
        if w.model.datasets[i].mode != DatasetMode::Import {
            return Err(ApiError::invalid(
                "Only Import-mode datasets have a refresh schedule; use directQueryRefreshSchedule",
            ));
        }
        if patch.get("enabled") == Some(&Value::Bool(false)) && patch.len() > 1 {
            return Err(ApiError::invalid(
                "A request that disables the schedule must contain nothing else",
            ));
        }
        let premium = on_capacity(w, i);
        let mut s = w.model.datasets[i].refresh_schedule.clone();
        let (days, times) = days_and_times(&patch, premium)?;
        if let Some(days) = days {
            s.days = days;
        }
        if let Some(times) = times {
            s.times = times;
        }
        if let Some(e) = patch.get("enabled") {
            s.enabled = e
                .as_bool()
                .ok_or_else(|| ApiError::invalid("'enabled' must be a boolean"))?;
        }
        if let Some(tz) = time_zone(&patch)? {
            s.local_time_zone_id = tz;
        }
        if let Some(n) = patch
            .get("notifyOption")
            .or_else(|| patch.get("NotifyOption"))
        {
            let n = n
                .as_str()
                .and_then(|n| canon(n, NOTIFY))
                .ok_or_else(|| ApiError::invalid("Invalid notifyOption"))?;
            if caller.principal_type == "App" && n != "NoNotification" {
                return Err(ApiError::invalid(format!(
                    "Invalid NotifyOption value '{n}' for app only owner requests"
                )));
            }
            s.notify_option = n.into();
        }
        if s.enabled && s.days.is_empty() {
            return Err(ApiError::invalid(
                "At least one day must be set to enable the schedule",
            ));
        }
        if s.enabled && s.times.is_empty() {
            s.times = vec!["00:00".into()];
        } // documented: no times ⇒ one default time
        w.model.datasets[i].refresh_schedule = s;
        Ok(ok_empty())
    })
}

/// `PATCH …/directQueryRefreshSchedule` with `{"value": {frequency}}` or
/// `{"value": {days, times, localTimeZoneId}}`. // documented: 3.17 (either frequency or
/// days+times, setting frequency overwrites days/times, owner only)
pub async fn patch_dq_schedule(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((gid, did)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let patch = patch_value(&headers, &body)?;
    app.with(|w| {
        let i = find(w, &gid, &did, &caller, Role::Contributor)?;
        require_owner(w, i, &caller)?;
        if w.model.datasets[i].mode == DatasetMode::Import {
            return Err(not_direct_query());
        }
        let frequency = match patch.get("frequency") {
            None | Some(Value::Null) => None,
            Some(f) => Some(f.as_u64().filter(|f| FREQUENCIES.contains(f)).ok_or_else(|| {
                ApiError::invalid("'frequency' must be one of 15, 30, 60, 120 or 180 minutes")
            })?),
        };
        let premium = on_capacity(w, i);
        let (days, times) = days_and_times(&patch, premium)?;
        let has_slots = days.as_ref().is_some_and(|d| !d.is_empty())
            || times.as_ref().is_some_and(|t| !t.is_empty());
        if frequency.is_some() && has_slots {
            return Err(ApiError::invalid(
                "A DirectQuery refresh schedule uses either 'frequency' or 'days' and 'times', not both",
            ));
        }
        let s = &mut w.model.datasets[i].direct_query_schedule;
        if let Some(f) = frequency {
            s.frequency = u32::try_from(f).ok();
            s.days.clear();
            s.times.clear();
        } else if has_slots {
            s.frequency = None;
            s.days = days.unwrap_or_default();
            s.times = times.unwrap_or_default();
        }
        if let Some(tz) = time_zone(&patch)? {
            s.local_time_zone_id = tz;
        }
        Ok(ok_empty())
    })
}
