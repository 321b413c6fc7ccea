//! Detection state of the earlier stored format, brought to today's ids.

use super::DetectionState;
use super::frame::Frame;
use crate::aggregate::recent::client_hash;
use crate::hash::legacy;
use std::collections::HashMap;

impl DetectionState {
    /// Re-keys a version-1 state, whose client ids were made with the legacy hash, to
    /// today's ids. Hashes cannot be reversed, so the addresses come from `names` (the
    /// clients the saved aggregate knows, which include every scanner worth an incident);
    /// a client not among them is dropped from the open minutes, and an incident of one
    /// keeps no client id (it ends as usual, and a scanner still at work opens anew).
    pub fn rekey_clients<'a>(state: &mut Self, names: impl Iterator<Item = &'a str>) {
        let map: HashMap<u64, u64> = names.map(|n| (legacy::client(n), client_hash(n))).collect();
        let frames = state.frames.open_mut().chain(state.detector.prev.as_mut());
        for f in frames {
            rekey_frame(f, &map);
        }
        let incidents = state
            .incidents
            .iter_mut()
            .chain(state.detector.open.values_mut());
        for a in incidents {
            a.client = a.client.and_then(|c| map.get(&c).copied());
        }
        let open = std::mem::take(&mut state.detector.open);
        state.detector.open = open.into_values().map(|a| (a.subject(), a)).collect();
    }
}

fn rekey_frame(f: &mut Frame, map: &HashMap<u64, u64>) {
    let old = std::mem::take(&mut f.clients);
    f.clients = old
        .into_iter()
        .filter_map(|(c, m)| Some((*map.get(&c)?, m)))
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Anomaly, AnomalyKind};
    use crate::severity::Severity;

    #[test]
    fn clients_of_the_earlier_format_get_todays_ids() {
        let scanner = "198.51.100.7";
        let mut f = Frame::default();
        f.clients
            .insert(legacy::client(scanner), Default::default());
        f.clients
            .insert(legacy::client("192.0.2.1"), Default::default());
        let mut state = DetectionState::default();
        state.detector.prev = Some(f);
        state.incidents.push(Anomaly {
            kind: AnomalyKind::Scanner,
            severity: Severity::Warning,
            route: String::new(),
            client: Some(legacy::client(scanner)),
            start_ms: 0,
            detected_ms: 0,
            last_ms: 0,
            end_ms: None,
            evidence: Default::default(),
        });
        let old = state.incidents[0].clone();
        let old_subject = (
            AnomalyKind::Scanner,
            format!("{:016x}", legacy::client(scanner)),
        );
        state.detector.open.insert(old_subject, old);
        DetectionState::rekey_clients(&mut state, [scanner].into_iter());
        let prev = state.detector.prev.as_ref().unwrap();
        assert_eq!(
            prev.clients.keys().copied().collect::<Vec<_>>(),
            [client_hash(scanner)]
        );
        assert_eq!(state.incidents[0].client, Some(client_hash(scanner)));
        let open: Vec<_> = state.detector.open.keys().cloned().collect();
        assert_eq!(
            open,
            [state.incidents[0].subject()],
            "open incidents keyed anew"
        );
    }
}
