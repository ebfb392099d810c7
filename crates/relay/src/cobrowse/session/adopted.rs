//! A session this node takes over from a node that went away (`cobrowse::remote::adopt`): it
//! starts as any session does, then takes the stored facts the first node left: the site the
//! customer paired from, the control state as carried, and the audit chain's head, so the
//! chain goes on where the stored entries end.

use protocol::ControlState;

use super::super::audit::Record;
use super::carried::Carried;
use super::Session;

impl Session {
    /// Becomes the session `carried` describes; the records say so (an `adopted` audit entry
    /// and the live row, now this node's).
    pub fn take_over(&self, carried: Carried) -> Vec<Record> {
        let now = self.now_ms();
        let mut st = self.lock();
        st.site_key = Some(carried.site_key);
        st.paired = true;
        st.control = ControlState::from_carried(carried.control, now, carried.elapsed_ms);
        if let Some((seq, head)) = carried.audit {
            st.audit_seq = seq;
            st.audit_head = head;
        }
        let detail = format!(
            "taken over from node {}, which went away, in {:?} (grant {})",
            carried.from,
            st.control.mode(),
            st.control.grant()
        );
        let adopted = st.audit(&self.id, "adopted", detail);
        let live = st.carry(&self.id, Some(&self.resume_token), now);
        drop(st);
        // The paired session's inactivity clock applies from now, not the pairing deadline.
        self.wake.notify_one();
        vec![adopted, live]
    }
}
