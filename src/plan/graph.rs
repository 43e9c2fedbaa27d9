//! The plan's dependency graph: checked for unknown ids and cycles (with the full cycle path),
//! a deterministic topological order, the dependency closure used by `--target`, and a
//! [`Scheduler`] that hands the executor ready changes and skips the dependents of failures.

use std::collections::{BTreeMap, BTreeSet};

use super::model::Change;
use crate::domain::address::Address;

/// Why the changes do not form a DAG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("two changes share the address {0}; this is a pbideploy bug, please report it")]
    Duplicate(Address),
    #[error("{change} depends on {missing}, which is not in the plan")]
    UnknownDependency { change: Address, missing: Address },
    #[error("dependency cycle: {}", path.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> "))]
    Cycle { path: Vec<Address> },
}

/// Nodes are indices into the change list the graph was built from.
#[derive(Debug, Clone)]
pub struct Graph {
    addresses: Vec<Address>,
    deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
}

impl Graph {
    /// Build and check the graph of `changes`.
    pub fn new(changes: &[Change]) -> Result<Self, GraphError> {
        let mut index = BTreeMap::new();
        for (i, c) in changes.iter().enumerate() {
            if index.insert(c.address.clone(), i).is_some() {
                return Err(GraphError::Duplicate(c.address.clone()));
            }
        }
        let mut deps = vec![Vec::new(); changes.len()];
        let mut dependents = vec![Vec::new(); changes.len()];
        for (i, c) in changes.iter().enumerate() {
            for d in &c.depends_on {
                let j = *index.get(d).ok_or_else(|| GraphError::UnknownDependency {
                    change: c.address.clone(),
                    missing: d.clone(),
                })?;
                if !deps[i].contains(&j) {
                    deps[i].push(j);
                    dependents[j].push(i);
                }
            }
        }
        let graph = Self {
            addresses: changes.iter().map(|c| c.address.clone()).collect(),
            deps,
            dependents,
        };
        graph.check_cycles()?;
        Ok(graph)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    /// True without nodes.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// The address of node `i`.
    pub fn address(&self, i: usize) -> &Address {
        &self.addresses[i]
    }

    fn check_cycles(&self) -> Result<(), GraphError> {
        // 0 = unvisited, 1 = on the stack, 2 = done. Iterative DFS keeps deep plans off the stack.
        let mut color = vec![0u8; self.len()];
        for start in 0..self.len() {
            if color[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            color[start] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some(&dep) = self.deps[node].get(*next) {
                    *next += 1;
                    match color[dep] {
                        0 => {
                            color[dep] = 1;
                            stack.push((dep, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                            let mut path: Vec<Address> = stack[from..]
                                .iter()
                                .map(|&(n, _)| self.addresses[n].clone())
                                .collect();
                            path.push(self.addresses[dep].clone());
                            return Err(GraphError::Cycle { path });
                        }
                        _ => {}
                    }
                } else {
                    color[node] = 2;
                    stack.pop();
                }
            }
        }
        Ok(())
    }

    /// A topological order (dependencies first); among ready nodes the earliest in the
    /// original list goes first, so the order is deterministic and follows the planner's.
    pub fn topological_order(&self) -> Vec<usize> {
        let mut sched = Scheduler::new(self);
        let mut out = Vec::with_capacity(self.len());
        while let Some(i) = sched.next_ready() {
            sched.complete(i);
            out.push(i);
        }
        out
    }

    /// Each node's depth: the longest chain of dependencies above it (0 for a node that
    /// depends on nothing). Apply runs deeper steps first, finishing chains early.
    pub fn depths(&self) -> Vec<u32> {
        let mut depth = vec![0u32; self.len()];
        for i in self.topological_order() {
            depth[i] = self.deps[i]
                .iter()
                .map(|&d| depth[d].saturating_add(1))
                .max()
                .unwrap_or(0);
        }
        depth
    }

    /// Nodes whose address lies under one of `targets`, plus everything they depend on.
    pub fn closure(&self, targets: &[Address]) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<usize> = (0..self.len())
            .filter(|&i| targets.iter().any(|t| self.addresses[i].starts_with(t)))
            .collect();
        while let Some(i) = todo.pop() {
            if out.insert(i) {
                todo.extend(self.deps[i].iter().copied());
            }
        }
        out
    }
}

/// The state of one node during execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Waiting,
    Ready,
    Running,
    Done,
    Failed,
    Skipped,
}

/// Hands out changes whose dependencies are done; a failure skips everything downstream while
/// independent branches go on.
#[derive(Debug, Clone)]
pub struct Scheduler<'g> {
    graph: &'g Graph,
    pending_deps: Vec<usize>,
    state: Vec<NodeState>,
    ready: BTreeSet<usize>,
}

impl<'g> Scheduler<'g> {
    /// Start with every node whose dependencies are empty ready.
    pub fn new(graph: &'g Graph) -> Self {
        let pending_deps: Vec<usize> = graph.deps.iter().map(Vec::len).collect();
        let ready: BTreeSet<usize> = (0..graph.len()).filter(|&i| pending_deps[i] == 0).collect();
        let mut state = vec![NodeState::Waiting; graph.len()];
        for &i in &ready {
            state[i] = NodeState::Ready;
        }
        Self {
            graph,
            pending_deps,
            state,
            ready,
        }
    }

    /// The next ready node (lowest index first), now marked running.
    pub fn next_ready(&mut self) -> Option<usize> {
        let i = self.ready.pop_first()?;
        self.state[i] = NodeState::Running;
        Some(i)
    }

    /// Mark `i` done, making its dependents ready when all their dependencies are done.
    pub fn complete(&mut self, i: usize) {
        self.state[i] = NodeState::Done;
        for &d in &self.graph.dependents[i] {
            self.pending_deps[d] = self.pending_deps[d].saturating_sub(1);
            if self.pending_deps[d] == 0 && self.state[d] == NodeState::Waiting {
                self.state[d] = NodeState::Ready;
                self.ready.insert(d);
            }
        }
    }

    /// Mark `i` failed; returns the nodes skipped because they (transitively) depend on it.
    pub fn fail(&mut self, i: usize) -> Vec<usize> {
        self.state[i] = NodeState::Failed;
        let mut skipped = Vec::new();
        let mut todo = self.graph.dependents[i].clone();
        while let Some(d) = todo.pop() {
            if matches!(self.state[d], NodeState::Waiting | NodeState::Ready) {
                self.state[d] = NodeState::Skipped;
                self.ready.remove(&d);
                skipped.push(d);
                todo.extend(self.graph.dependents[d].iter().copied());
            }
        }
        skipped.sort_unstable();
        skipped
    }

    /// The state of node `i`.
    pub fn state(&self, i: usize) -> NodeState {
        self.state[i]
    }

    /// True when nothing is ready, running or waiting.
    pub fn is_finished(&self) -> bool {
        self.state
            .iter()
            .all(|s| matches!(s, NodeState::Done | NodeState::Failed | NodeState::Skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{Action, ChangeKind, Operation};

    fn node(name: &str, deps: &[&str]) -> Change {
        Change {
            address: Address::workspace(name),
            kind: ChangeKind::Workspace,
            action: Action::Create,
            attrs: vec![],
            reason: String::new(),
            depends_on: deps.iter().map(|d| Address::workspace(d)).collect(),
            operation: Operation::CreateWorkspace {
                workspace: name.into(),
            },
        }
    }

    fn names(g: &Graph, order: &[usize]) -> Vec<String> {
        order
            .iter()
            .map(|&i| {
                g.address(i)
                    .workspace_name()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn depth_is_the_longest_chain_above_a_node() {
        let changes = vec![
            node("c", &["b", "a"]),
            node("a", &[]),
            node("b", &["a"]),
            node("d", &[]),
        ];
        let g = Graph::new(&changes).unwrap();
        assert_eq!(g.depths(), [2, 0, 1, 0]);
    }

    #[test]
    fn order_puts_dependencies_first_and_is_stable() {
        let changes = vec![
            node("c", &["b"]),
            node("a", &[]),
            node("b", &["a"]),
            node("d", &[]),
        ];
        let g = Graph::new(&changes).unwrap();
        // Among ready nodes the earliest in the list goes first: c (index 0) beats d once b is done.
        assert_eq!(names(&g, &g.topological_order()), ["a", "b", "c", "d"]);
    }

    #[test]
    fn cycle_error_names_the_whole_path() {
        let changes = vec![
            node("a", &["b"]),
            node("b", &["c"]),
            node("c", &["a"]),
            node("x", &[]),
        ];
        let err = Graph::new(&changes).unwrap_err();
        let GraphError::Cycle { path } = &err else {
            panic!("{err}")
        };
        assert_eq!(path.len(), 4);
        assert_eq!(path.first(), path.last());
        let text = err.to_string();
        for n in ["\"a\"", "\"b\"", "\"c\""] {
            assert!(text.contains(n), "{text}");
        }
        let self_loop = Graph::new(&[node("s", &["s"])]).unwrap_err();
        assert!(matches!(self_loop, GraphError::Cycle { .. }));
    }

    #[test]
    fn unknown_dependency_and_duplicates_are_errors() {
        assert!(matches!(
            Graph::new(&[node("a", &["zz"])]),
            Err(GraphError::UnknownDependency { .. })
        ));
        assert!(matches!(
            Graph::new(&[node("a", &[]), node("A2", &[]), node("a", &[])]),
            Err(GraphError::Duplicate(_))
        ));
    }

    #[test]
    fn closure_includes_dependencies_only() {
        let changes = vec![
            node("a", &[]),
            node("b", &["a"]),
            node("c", &["b"]),
            node("d", &[]),
        ];
        let g = Graph::new(&changes).unwrap();
        let got: Vec<usize> = g.closure(&[Address::workspace("b")]).into_iter().collect();
        assert_eq!(got, vec![0, 1]);
    }

    #[test]
    fn scheduler_skips_dependents_of_failures_and_continues_elsewhere() {
        let changes = vec![
            node("a", &[]),
            node("b", &["a"]),
            node("c", &["b"]),
            node("d", &[]),
        ];
        let g = Graph::new(&changes).unwrap();
        let mut s = Scheduler::new(&g);
        assert_eq!(s.next_ready(), Some(0));
        assert_eq!(s.next_ready(), Some(3));
        assert_eq!(s.next_ready(), None);
        assert_eq!(s.fail(0), vec![1, 2]);
        s.complete(3);
        assert_eq!(s.next_ready(), None);
        assert!(s.is_finished());
        assert_eq!(s.state(2), NodeState::Skipped);
        assert_eq!(s.state(3), NodeState::Done);
    }
}
