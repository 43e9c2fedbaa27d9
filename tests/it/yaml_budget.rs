//! Worst cases for YAML anchors and aliases, measured: the peak memory parsing takes (a
//! counting allocator wraps the system one; this binary holds one test so nothing else
//! allocates meanwhile). Anchors nested in anchors used to be copied outside every budget, so
//! a ~200 KiB manifest could cost hundreds of MiB and a 2 MiB one gigabytes; every copy is
//! now charged to the 1 000 000-node budget.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use pbideploy::manifest::parse::parse_document;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let now = CURRENT.fetch_add(size, Ordering::SeqCst) + size;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What `f` allocated at its peak, above what was allocated before it.
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let result = f();
    (result, PEAK.load(Ordering::SeqCst) - base)
}

/// `levels` anchored flow sequences nested in one another around `width` scalars: each
/// anchor keeps a copy of everything inside it.
fn nested_anchors(levels: usize, width: usize) -> String {
    let mut yaml = String::from("apiVersion: pbideploy/v1\nworkspaces: []\nx: ");
    for level in 0..levels {
        yaml.push_str(&format!("&a{level} ["));
    }
    yaml.push_str(&vec!["a"; width].join(","));
    yaml.push_str(&"]".repeat(levels));
    yaml.push('\n');
    yaml
}

const MIB: usize = 1 << 20;

#[test]
fn nested_anchors_are_charged_to_the_node_budget_and_memory_stays_bounded() {
    // 30 nested anchors around 100 000 scalars (200 KiB): 3 000 000 copied nodes.
    let bomb = nested_anchors(30, 100_000);
    assert!(bomb.len() < 256 << 10);
    let (result, peak) = peak_of(|| parse_document(&bomb).map(|_| ()));
    eprintln!(
        "nested-anchor bomb ({} KiB): {}, peak {} MiB",
        bomb.len() >> 10,
        if result.is_ok() { "parsed" } else { "refused" },
        peak / MIB
    );
    let err = result.expect_err("copies beyond the node budget are refused");
    assert_eq!(err.code, "yaml-too-complex", "{err:?}");
    assert!(peak < 128 * MIB, "peak {} MiB", peak / MIB);

    // The largest such structure the budget admits: 30 anchors around 30 000 scalars
    // (930 000 nodes with the copies). It parses, within a bounded peak.
    let largest = nested_anchors(30, 30_000);
    let (result, peak) = peak_of(|| parse_document(&largest).map(|(v, _)| v["x"].is_array()));
    assert_eq!(result.ok(), Some(true));
    eprintln!(
        "largest admitted ({} KiB): parsed, peak {} MiB",
        largest.len() >> 10,
        peak / MIB
    );
    assert!(peak < 256 * MIB, "peak {} MiB", peak / MIB);
}
