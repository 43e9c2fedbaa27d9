//! The refresh schedule and the refresh on apply.

use serde_json::json;

use super::Step;
use crate::domain::address::Address;
use crate::domain::desired::{DesiredDataset, RefreshOnApply};
use crate::plan::model::{Action, AttrDiff, ChangeKind, Operation};
use crate::plan::planner::{Ctx, change};

pub(super) fn plan_schedule(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
) -> Option<Address> {
    let want = ds.schedule.as_ref()?;
    let have = step.live.and_then(|l| l.refresh_schedule.as_ref());
    if have.is_some_and(|h| want.matches(h)) {
        return None;
    }
    let show = |s: &crate::plan::model::RefreshSchedule| match s.frequency {
        Some(f) => json!({"frequency_minutes": f, "time_zone": s.time_zone}),
        None if !s.enabled => json!({"enabled": false}),
        None => {
            json!({"enabled": true, "days": s.days, "times": s.times, "time_zone": s.time_zone, "notify": s.notify_option})
        }
    };
    let c = change(
        step.addr.child("refresh_schedule"),
        ChangeKind::RefreshSchedule,
        Action::Update,
        "the refresh schedule differs from the manifest",
        deps.to_vec(),
        Operation::SetRefreshSchedule {
            dataset: step.item.clone(),
            schedule: want.clone(),
        },
        vec![AttrDiff::values("schedule", have.map(show), show(want))],
    );
    Some(ctx.push(c))
}

pub(super) fn plan_refresh(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: Vec<Address>,
    changed: bool,
) {
    let reason = match ds.refresh {
        RefreshOnApply::Always => "refresh.onApply is always",
        RefreshOnApply::WhenChanged if changed => {
            "refresh.onApply is whenChanged and the dataset changes"
        }
        _ => return,
    };
    let c = change(
        step.addr.child("refresh"),
        ChangeKind::Refresh,
        Action::Update,
        reason,
        deps,
        Operation::Refresh {
            dataset: step.item.clone(),
        },
        Vec::new(),
    );
    ctx.push(c);
}
