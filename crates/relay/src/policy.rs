//! Who may do what: the one answer to "may this person do this to this resource", as a pure
//! function of the person's roles, the action and whose the resource is. No I/O: handlers find
//! the resource's owner (the agent a conversation or interaction is assigned or offered to),
//! then ask [`decide`] before they read or change anything; `accounts::AuthAgent::may` asks it
//! and audits each refusal.
//!
//! Three roles, which a person may hold together:
//!
//! - **agent**: works: its own desk, and the interactions and conversations offered or
//!   assigned to it (its own parked ones included), and its own figures.
//! - **supervisor**: watches and steers: the wallboard, every report, reading any
//!   conversation, assigning or transferring any interaction (also above an agent's capacity),
//!   changing a stuck agent's state or signing it out, observing any co-browse (mirror only).
//! - **admin**: configures: people and roles, queues, skills, wrap-up codes and routing
//!   profiles, telephony connectors, open-messaging integrations, sites.
//!
//! Nobody, whatever the roles, sends into or controls another person's work: a supervisor
//! reads, assigns, transfers and observes, but the words and the clicks are the assigned
//! agent's.

use serde::Serialize;

/// One role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    /// The name the database, the CLI and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles one person holds (a set; serialized as a list of names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Roles(u8);

impl Roles {
    pub const NONE: Roles = Roles(0);

    pub fn of(roles: &[Role]) -> Roles {
        roles.iter().fold(Roles::NONE, |set, r| set.with(*r))
    }

    pub fn has(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    pub fn with(self, role: Role) -> Roles {
        Roles(self.0 | role.bit())
    }

    pub fn without(self, role: Role) -> Roles {
        Roles(self.0 & !role.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.has(*r))
    }
}

impl Serialize for Roles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// What a refusal says is missing. Each is held by exactly one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Take work: a desk, presence, offers; act on one's own interactions and conversations.
    WorkOwn,
    /// Read any conversation, interaction, co-browse session or audit.
    ReadAny,
    /// Assign or transfer any interaction or conversation, also above capacity.
    AssignAny,
    /// Change another agent's state, or sign it out.
    ManageAgents,
    /// Join any co-browse session as a silent observer.
    Observe,
    /// The live wallboard: queues and agents now.
    Wallboard,
    /// Reports and figures of everyone (one's own figures need only `WorkOwn`).
    Reports,
    /// People: create, disable, reset passwords, set roles.
    AdminPeople,
    /// Queues, skills, wrap-up codes and routing profiles.
    AdminRouting,
    /// Telephony connectors and open-messaging integrations.
    AdminConnectors,
    /// Sites: keys, origins and co-browse rules.
    AdminSites,
}

impl Permission {
    pub const ALL: [Permission; 11] = [
        Permission::WorkOwn,
        Permission::ReadAny,
        Permission::AssignAny,
        Permission::ManageAgents,
        Permission::Observe,
        Permission::Wallboard,
        Permission::Reports,
        Permission::AdminPeople,
        Permission::AdminRouting,
        Permission::AdminConnectors,
        Permission::AdminSites,
    ];

    /// The name a refusal (`403 {"permission": ...}`) and the audit use.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::WorkOwn => "work.own",
            Permission::ReadAny => "work.read_any",
            Permission::AssignAny => "work.assign_any",
            Permission::ManageAgents => "agents.manage",
            Permission::Observe => "cobrowse.observe",
            Permission::Wallboard => "wallboard.view",
            Permission::Reports => "reports.view",
            Permission::AdminPeople => "admin.people",
            Permission::AdminRouting => "admin.routing",
            Permission::AdminConnectors => "admin.connectors",
            Permission::AdminSites => "admin.sites",
        }
    }

    /// The role that holds this permission.
    pub fn role(self) -> Role {
        match self {
            Permission::WorkOwn => Role::Agent,
            Permission::ReadAny
            | Permission::AssignAny
            | Permission::ManageAgents
            | Permission::Observe
            | Permission::Wallboard
            | Permission::Reports => Role::Supervisor,
            Permission::AdminPeople
            | Permission::AdminRouting
            | Permission::AdminConnectors
            | Permission::AdminSites => Role::Admin,
        }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open one's desk or desk socket, set one's presence, list one's own work.
    Desk,
    /// Read a conversation, an interaction, a co-browse session or its audit.
    Read,
    /// Act on work: send, type, mark read, upload, wrap up, accept, decline, park, end, offer
    /// or join co-browse with control, end a co-browse session.
    Act,
    /// Assign or transfer work to a chosen agent (one's own work: a transfer).
    Assign,
    /// Assign above the chosen agent's capacity (audited as forced).
    ForceAssign,
    /// Change another agent's state or sign it out (one's own: `Desk`).
    ManageAgent,
    /// Watch a co-browse session without control.
    Observe,
    /// The wallboard (queues and agents now).
    Wallboard,
    /// Historical and real-time reports; one's own figures are `Scope::Own`.
    Reports,
    /// Change the platform's configuration in one area.
    Configure(Area),
}

/// The configuration areas, each an admin permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    People,
    Routing,
    Connectors,
    Sites,
}

/// Whose the resource is, from where the person stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Offered or assigned to the person (its own desk, its own parked work, its own figures).
    Own,
    /// Someone else's, or no one's yet (waiting in a queue).
    Others,
    /// Not anyone's: the platform (queues, configuration, everyone's figures).
    Platform,
}

/// A refusal: the permission that was missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not allowed: needs the {permission} permission ({} role)", permission.role())]
pub struct Denied {
    pub permission: Permission,
}

/// Whether `roles` grant `permission`.
pub fn holds(roles: Roles, permission: Permission) -> bool {
    roles.has(permission.role())
}

/// The permission `action` on a resource in `scope` needs.
pub fn needs(action: Action, scope: Scope) -> Permission {
    use Action as A;
    use Permission as P;
    match (action, scope) {
        (A::Desk | A::Act, _) => P::WorkOwn,
        (A::Read | A::Assign, Scope::Own) => P::WorkOwn,
        (A::Read, _) => P::ReadAny,
        (A::Assign | A::ForceAssign, _) => P::AssignAny,
        (A::ManageAgent, Scope::Own) => P::WorkOwn,
        (A::ManageAgent, _) => P::ManageAgents,
        (A::Observe, _) => P::Observe,
        (A::Wallboard, _) => P::Wallboard,
        (A::Reports, Scope::Own) => P::WorkOwn,
        (A::Reports, _) => P::Reports,
        (A::Configure(Area::People), _) => P::AdminPeople,
        (A::Configure(Area::Routing), _) => P::AdminRouting,
        (A::Configure(Area::Connectors), _) => P::AdminConnectors,
        (A::Configure(Area::Sites), _) => P::AdminSites,
    }
}

/// May a person holding `roles` do `action` to a resource in `scope`? Acting on someone
/// else's work is refused whatever the roles ([`Permission::WorkOwn`] names what is missing:
/// the work being one's own).
pub fn decide(roles: Roles, action: Action, scope: Scope) -> Result<(), Denied> {
    let permission = needs(action, scope);
    let own_only = matches!(action, Action::Act | Action::Desk) && scope != Scope::Own;
    if own_only || !holds(roles, permission) {
        return Err(Denied { permission });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: Roles = Roles(1);
    const SUPERVISOR: Roles = Roles(2);
    const ADMIN: Roles = Roles(4);

    /// The whole table: every action × scope × role, and what it answers. `.` allowed, else the
    /// permission a refusal names.
    #[test]
    fn the_permission_table() {
        use Action as A;
        let actions = [
            ("desk", A::Desk),
            ("read", A::Read),
            ("act", A::Act),
            ("assign", A::Assign),
            ("force", A::ForceAssign),
            ("manage", A::ManageAgent),
            ("observe", A::Observe),
            ("wallboard", A::Wallboard),
            ("reports", A::Reports),
            ("people", A::Configure(Area::People)),
            ("routing", A::Configure(Area::Routing)),
            ("connectors", A::Configure(Area::Connectors)),
            ("sites", A::Configure(Area::Sites)),
        ];
        // Rows: action, scope; columns: agent, supervisor, admin, nobody.
        let expected = [
            (
                "desk",
                Scope::Own,
                [".", "work.own", "work.own", "work.own"],
            ),
            ("desk", Scope::Others, ["work.own"; 4]),
            (
                "read",
                Scope::Own,
                [".", "work.own", "work.own", "work.own"],
            ),
            (
                "read",
                Scope::Others,
                ["work.read_any", ".", "work.read_any", "work.read_any"],
            ),
            ("act", Scope::Own, [".", "work.own", "work.own", "work.own"]),
            ("act", Scope::Others, ["work.own"; 4]),
            ("act", Scope::Platform, ["work.own"; 4]),
            (
                "assign",
                Scope::Own,
                [".", "work.own", "work.own", "work.own"],
            ),
            (
                "assign",
                Scope::Others,
                ["work.assign_any", ".", "work.assign_any", "work.assign_any"],
            ),
            (
                "force",
                Scope::Own,
                ["work.assign_any", ".", "work.assign_any", "work.assign_any"],
            ),
            (
                "manage",
                Scope::Own,
                [".", "work.own", "work.own", "work.own"],
            ),
            (
                "manage",
                Scope::Others,
                ["agents.manage", ".", "agents.manage", "agents.manage"],
            ),
            (
                "observe",
                Scope::Others,
                [
                    "cobrowse.observe",
                    ".",
                    "cobrowse.observe",
                    "cobrowse.observe",
                ],
            ),
            (
                "wallboard",
                Scope::Platform,
                ["wallboard.view", ".", "wallboard.view", "wallboard.view"],
            ),
            (
                "reports",
                Scope::Own,
                [".", "work.own", "work.own", "work.own"],
            ),
            (
                "reports",
                Scope::Platform,
                ["reports.view", ".", "reports.view", "reports.view"],
            ),
            (
                "people",
                Scope::Platform,
                ["admin.people", "admin.people", ".", "admin.people"],
            ),
            (
                "routing",
                Scope::Platform,
                ["admin.routing", "admin.routing", ".", "admin.routing"],
            ),
            (
                "connectors",
                Scope::Platform,
                [
                    "admin.connectors",
                    "admin.connectors",
                    ".",
                    "admin.connectors",
                ],
            ),
            (
                "sites",
                Scope::Platform,
                ["admin.sites", "admin.sites", ".", "admin.sites"],
            ),
        ];
        for (name, scope, answers) in expected {
            let action = actions.iter().find(|(n, _)| *n == name).unwrap().1;
            for (roles, want) in [AGENT, SUPERVISOR, ADMIN, Roles::NONE]
                .into_iter()
                .zip(answers)
            {
                let got = match decide(roles, action, scope) {
                    Ok(()) => ".",
                    Err(d) => d.permission.as_str(),
                };
                assert_eq!(got, want, "{name} {scope:?} as {roles:?}");
            }
        }
    }

    #[test]
    fn holding_every_role_still_never_acts_on_someone_elses_work() {
        let all = Roles::of(&Role::ALL);
        for scope in [Scope::Others, Scope::Platform] {
            assert!(decide(all, Action::Act, scope).is_err());
            assert!(decide(all, Action::Desk, scope).is_err());
        }
        for action in [
            Action::Read,
            Action::Assign,
            Action::ForceAssign,
            Action::ManageAgent,
            Action::Observe,
            Action::Wallboard,
            Action::Reports,
            Action::Configure(Area::People),
            Action::Configure(Area::Sites),
        ] {
            assert_eq!(decide(all, action, Scope::Others), Ok(()), "{action:?}");
        }
    }

    #[test]
    fn roles_name_themselves_and_serialize_as_a_list() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        let set = Roles::of(&[Role::Admin, Role::Agent]);
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["agent","admin"]"#);
        assert!(set.without(Role::Agent).has(Role::Admin));
        assert!(!set.without(Role::Agent).has(Role::Agent));
        for p in Permission::ALL {
            assert!(holds(Roles::of(&[p.role()]), p));
        }
    }
}
