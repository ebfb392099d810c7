//! Routing: the automatic call distributor that matches interactions to agents.
