//! One parent's child list against what the receiver has: which known children stay where
//! they are (a longest run kept in order) and which leave, so a flush resends as few as it can.
//! Pure: ids in, a [`Plan`] out.

use protocol::NodeId;

/// How one parent's child list changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Known children that leave (or move within) the list, in old order.
    pub removed: Vec<NodeId>,
    /// Whether each live child stays where the receiver has it.
    pub kept: Vec<bool>,
}

/// Compares a parent's known children (`old`) with its live children, given as the known id of
/// each live child when it is a known child of this parent.
pub fn reconcile(old: &[NodeId], live: &[Option<NodeId>]) -> Plan {
    // Old ids with their positions, sorted by id to be found by binary search.
    let mut position: Vec<(NodeId, usize)> =
        old.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    crate::order::sort_by_key(&mut position, |(id, _)| *id);
    let position_of = |id: NodeId| {
        position
            .binary_search_by_key(&id, |(id, _)| *id)
            .ok()
            .and_then(|at| position.get(at))
            .map(|(_, p)| *p)
    };
    // Old positions of live children that were already here, in live order.
    let seq: Vec<(usize, usize)> = live
        .iter()
        .enumerate()
        .filter_map(|(i, id)| id.and_then(position_of).map(|p| (i, p)))
        .collect();
    let mut kept = vec![false; live.len()];
    for i in longest_increasing(&seq) {
        kept[i] = true;
    }
    let mut kept_ids: Vec<NodeId> = live
        .iter()
        .zip(&kept)
        .filter_map(|(id, &k)| if k { *id } else { None })
        .collect();
    crate::order::sort_by_key(&mut kept_ids, |id| *id);
    let removed = old
        .iter()
        .copied()
        .filter(|id| kept_ids.binary_search(id).is_err())
        .collect();
    Plan { removed, kept }
}

/// Live indices of a longest run of `(live index, old position)` increasing in old position.
fn longest_increasing(seq: &[(usize, usize)]) -> Vec<usize> {
    // tails[k]: index into seq of the smallest tail of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; seq.len()];
    for (i, &(_, p)) in seq.iter().enumerate() {
        let k = tails.partition_point(|&t| seq[t].1 < p);
        prev[i] = k.checked_sub(1).map(|k| tails[k]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut at = tails.last().copied();
    while let Some(i) = at {
        out.push(seq[i].0);
        at = prev[i];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `old` and `live` as letters; known children are uppercase letters that were in `old`.
    fn check(old: &str, live: &str, want_removed: &str, want_sent: &str) {
        let id = |c: char| c as NodeId;
        let old_ids: Vec<NodeId> = old.chars().map(id).collect();
        let live_ids: Vec<Option<NodeId>> = live
            .chars()
            .map(|c| if old.contains(c) { Some(id(c)) } else { None })
            .collect();
        let plan = reconcile(&old_ids, &live_ids);
        let removed: String = plan
            .removed
            .iter()
            .filter_map(|&i| char::from_u32(i))
            .collect();
        let sent: String = live
            .chars()
            .zip(&plan.kept)
            .filter(|(_, &k)| !k)
            .map(|(c, _)| c)
            .collect();
        assert_eq!(
            (removed.as_str(), sent.as_str()),
            (want_removed, want_sent),
            "{old} -> {live}"
        );
    }

    #[test]
    fn child_lists_reconcile_with_fewest_resends() {
        check("ABC", "ABC", "", "");
        check("ABC", "AxBC", "", "x");
        check("ABC", "AC", "B", "");
        check("ABC", "CAB", "C", "C");
        check("ABC", "BCA", "A", "A");
        check("ABCD", "ADCB", "CD", "DC");
        check("", "xyz", "", "xyz");
        check("AB", "", "AB", "");
        check("ABC", "xCyAz", "BC", "xCyz");
    }
}
