//! What messaging counts for operators: customer messages stored, by the channel they came in
//! on. Kept on the service ([`super::Messaging::ingested`]) and registered by `/metrics` in the
//! relay's own registry; the label set is bounded (`widget`, `open`, `other`), whatever an
//! integration is called.

use prometheus_client::{
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};

use super::{model::WEB, wire::CHANNEL_PREFIX};

type ChannelLabel = [(&'static str, &'static str); 1];

/// Customer messages stored, one counter per channel family, made up front.
#[derive(Debug, Clone)]
pub struct IngestCounters {
    family: Family<ChannelLabel, Counter>,
    widget: Counter,
    open: Counter,
    other: Counter,
}

impl Default for IngestCounters {
    fn default() -> Self {
        let family = Family::<ChannelLabel, Counter>::default();
        let child = |channel| family.get_or_create(&[("channel", channel)]).clone();
        let (widget, open, other) = (child("widget"), child("open"), child("other"));
        IngestCounters {
            family,
            widget,
            open,
            other,
        }
    }
}

impl IngestCounters {
    /// Counts one stored customer message of conversation channel `channel`.
    pub fn ingested(&self, channel: &str) {
        if channel == WEB {
            self.widget.inc();
        } else if channel.starts_with(CHANNEL_PREFIX) {
            self.open.inc();
        } else {
            self.other.inc();
        }
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "messaging_messages_ingested",
            "Customer messages stored, by channel (widget: the web messaging widget; open: any open-messaging integration)",
            self.family.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrations_share_one_label_whatever_they_are_called() {
        let counters = IngestCounters::default();
        counters.ingested("web");
        counters.ingested("open:acme");
        counters.ingested("open:other");
        counters.ingested("sms");
        assert_eq!(
            (
                counters.widget.get(),
                counters.open.get(),
                counters.other.get()
            ),
            (1, 2, 1)
        );
    }
}
