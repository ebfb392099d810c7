//! What the agent's console sends: show-and-tell (always allowed) and input (only while the
//! customer has granted navigation).

use alloc::{string::String, vec::Vec};
use serde::{Deserialize, Serialize};

use crate::dom::NodeId;

/// Pulse an element on the customer's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Highlight {
    pub node: NodeId,
}

/// A point of an annotation, in document CSS pixels (so it scrolls with the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

/// The shape of an annotation stroke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum StrokeKind {
    Freehand,
    Arrow,
}

/// A stroke, or more points of a stroke already begun with the same `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Stroke {
    pub id: u32,
    pub kind: StrokeKind,
    pub points: Vec<Point>,
    /// The pen was lifted: the stroke is complete and starts to fade.
    pub done: bool,
}

/// Mouse button of an agent click.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Button {
    Primary,
    Secondary,
    Middle,
}

/// Click `node` at viewport position `x`, `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Click {
    pub node: NodeId,
    pub x: i32,
    pub y: i32,
    pub button: Button,
}

/// Set a form control's text as typed (`input` and `change` events follow).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct TextInput {
    pub node: NodeId,
    pub value: String,
}

/// Modifier bits of a [`Key`].
pub mod modifiers {
    pub const SHIFT: u8 = 1;
    pub const CTRL: u8 = 2;
    pub const ALT: u8 = 4;
    pub const META: u8 = 8;
}

/// A key press on `node` (`key` as in `KeyboardEvent.key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Key {
    pub node: NodeId,
    pub key: String,
    pub modifiers: u8,
}

/// Where the agent asks the page to go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Navigate {
    /// Same-site URL; the page refuses others.
    Url(String),
    Back,
    Forward,
    Reload,
}
