//! Strict JSON parsing: a body must be one JSON object, and no object in it may name a member
//! twice. (serde_json keeps the last of two equal keys silently; a signature computed by the
//! sender over the first one would then describe a different request from the one we act on.)
//!
//! A body is parsed once, into a [`Node`] tree held in an [`Arena`]: strings are borrowed from
//! the body (or, with escapes, written once into the arena), and arrays and objects are slices
//! of the arena, their members in the order received. A parse makes one allocation for the
//! tree rather than one per array and object. Request parameters are deserialised from that
//! tree, and the signature is computed over it; both read any JSON tree through [`JsonValue`],
//! so answers and notices built as `serde_json` values sign the same way.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{Deserializer, IntoDeserializer, Visitor};
use serde_json::{Map, Number, Value};

mod parse;

/// Why a body is not a JSON object.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonError {
    #[error("the body is not valid JSON: {0}")]
    Syntax(String),
    #[error("the body must be a JSON object")]
    NotAnObject,
    #[error("member `{0}` appears more than once")]
    DuplicateKey(String),
}

/// One JSON value of a parsed body.
#[derive(Debug, Clone, PartialEq)]
// A tag of a whole word before the payload: nodes are moved as they are built, and with a
// smaller tag each move copied the padding after it too, in loads that straddle what was
// stored separately (a stalled store-to-load forward, 4% of a 50-receiver start).
#[repr(u64)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(&'a str),
    Array(&'a [Node<'a>]),
    Object(Object<'a>),
}

/// One member of an object: its name and its value.
pub type Member<'a> = (&'a str, Node<'a>);

/// A JSON object: its members in the order received, no name twice.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Object<'a>(&'a [Member<'a>]);

impl<'a> Object<'a> {
    pub fn get(&self, key: &str) -> Option<&'a Node<'a>> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a Node<'a>)> + use<'a> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

/// Where a parsed tree lives: its arrays, objects and unescaped strings. Trees borrow from it,
/// and it is freed at once when dropped (nothing in a tree needs dropping).
pub struct Arena(bumpalo::Bump);

impl Arena {
    /// An arena sized for the tree of a body of `len` bytes (a request's tree takes about twice
    /// its body; a larger one grows the arena as it is read).
    pub fn for_body(len: usize) -> Self {
        Self(bumpalo::Bump::with_capacity(
            len.saturating_mul(3).min(64 * 1024),
        ))
    }
}

pub use parse::parse_tree;

/// [`parse_tree`] into an owned `serde_json` map (for notices and tools that edit the object).
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonError> {
    let arena = Arena::for_body(bytes.len());
    parse_tree(bytes, &arena).map(object_to_map)
}

fn object_to_map(object: Object<'_>) -> Map<String, Value> {
    object
        .iter()
        .map(|(k, v)| (k.to_owned(), node_to_value(v)))
        .collect()
}

fn node_to_value(node: &Node<'_>) -> Value {
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Number(n) => Value::Number(n.clone()),
        Node::Str(s) => Value::String((*s).to_owned()),
        Node::Array(items) => Value::Array(items.iter().map(node_to_value).collect()),
        Node::Object(object) => Value::Object(object_to_map(*object)),
    }
}

/// What one JSON value is, whichever tree holds it.
pub enum View<'v, T: JsonValue + 'v> {
    Null,
    Bool(bool),
    Number(&'v Number),
    Str(&'v str),
    Array(&'v [T]),
    Object(T::Members<'v>),
}

/// A JSON value that can be read without knowing its tree (a parsed [`Node`] or a
/// `serde_json::Value`).
pub trait JsonValue: Sized {
    type Members<'m>: Iterator<Item = (&'m str, &'m Self)>
    where
        Self: 'm;
    fn view(&self) -> View<'_, Self>;
}

/// A JSON object that can be read without knowing its tree.
pub trait JsonObject {
    type Value: JsonValue;
    fn members(&self) -> impl Iterator<Item = (&str, &Self::Value)>;
    fn member(&self, key: &str) -> Option<&Self::Value>;
}

/// The members of a [`Node`] object.
pub type NodeMembers<'m, 'a> =
    std::iter::Map<std::slice::Iter<'m, Member<'a>>, fn(&'m Member<'a>) -> (&'m str, &'m Node<'a>)>;

fn node_member<'m, 'a>(m: &'m Member<'a>) -> (&'m str, &'m Node<'a>) {
    (m.0, &m.1)
}

impl<'a> JsonValue for Node<'a> {
    type Members<'m>
        = NodeMembers<'m, 'a>
    where
        Self: 'm;
    fn view<'m>(&'m self) -> View<'m, Self> {
        match self {
            Node::Null => View::Null,
            Node::Bool(b) => View::Bool(*b),
            Node::Number(n) => View::Number(n),
            Node::Str(s) => View::Str(s),
            Node::Array(items) => View::Array(items),
            Node::Object(o) => {
                let member: fn(&'m Member<'a>) -> (&'m str, &'m Node<'a>) = node_member;
                View::Object(o.0.iter().map(member))
            }
        }
    }
}

impl<'a> JsonObject for Object<'a> {
    type Value = Node<'a>;
    fn members(&self) -> impl Iterator<Item = (&str, &Node<'a>)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
    fn member(&self, key: &str) -> Option<&Node<'a>> {
        self.get(key)
    }
}

/// The members of a `serde_json` object.
pub type ValueMembers<'m> =
    std::iter::Map<serde_json::map::Iter<'m>, fn((&'m String, &'m Value)) -> (&'m str, &'m Value)>;

fn value_member<'m>((k, v): (&'m String, &'m Value)) -> (&'m str, &'m Value) {
    (k.as_str(), v)
}

impl JsonValue for Value {
    type Members<'m> = ValueMembers<'m>;
    fn view<'m>(&'m self) -> View<'m, Self> {
        match self {
            Value::Null => View::Null,
            Value::Bool(b) => View::Bool(*b),
            Value::Number(n) => View::Number(n),
            Value::String(s) => View::Str(s),
            Value::Array(items) => View::Array(items),
            Value::Object(map) => {
                let member: fn((&'m String, &'m Value)) -> (&'m str, &'m Value) = value_member;
                View::Object(map.iter().map(member))
            }
        }
    }
}

impl JsonObject for Map<String, Value> {
    type Value = Value;
    fn members(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.iter().map(|(k, v)| (k.as_str(), v))
    }
    fn member(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

/// Parameters are deserialised from a parsed tree as they would be from `serde_json` values,
/// with serde_json's error type and wording (the caller turns those into `field: rule`).
impl<'de, 'a: 'de> Deserializer<'de> for &'de Node<'a> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(*b),
            Node::Number(n) => n.clone().deserialize_any(visitor),
            Node::Str(s) => visitor.visit_borrowed_str(s),
            Node::Array(items) => {
                let mut seq = SeqDeserializer::new(items.iter());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Node::Object(o) => {
                let mut map = MapDeserializer::new(o.iter());
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self {
            Node::Str(s) => visitor.visit_enum((*s).into_deserializer()),
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

impl<'de, 'a: 'de> IntoDeserializer<'de, serde_json::Error> for &'de Node<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests;
