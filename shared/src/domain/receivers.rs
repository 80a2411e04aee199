//! Receivers and groups (SPEC §4.8), and which of them a start may use.

use super::account::Account;
use super::codes::{Channel, ReceiverType, RelationType};
use super::refusal::Refusal;

/// Where a receiver is in its binding with the channel. Each step is a conditional write, so a
/// receiver is never stored, usable and unbound at the channel, nor bound at the channel with
/// nothing stored that a repeated request could finish (SPEC §4.8, §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindState {
    /// Its number is taken; the channel is being asked to bind it. Not usable yet: a repeated
    /// add with the same details finishes the bind.
    Binding,
    /// Bound at the channel: usable in starts and groups.
    Bound,
    /// Leaving: the channel is being asked to unbind it. No group may take it; a repeated
    /// remove finishes the unbind.
    Unbinding,
}

impl BindState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Binding => "binding",
            Self::Bound => "bound",
            Self::Unbinding => "unbinding",
        }
    }

    /// The state a stored code names; receivers stored before states were are bound.
    pub fn from_code(code: Option<&str>) -> Option<Self> {
        match code {
            None | Some("bound") => Some(Self::Bound),
            Some("binding") => Some(Self::Binding),
            Some("unbinding") => Some(Self::Unbinding),
            Some(_) => None,
        }
    }
}

/// A receiver registered with a channel (SPEC §4.8). Immutable once added, except its group
/// count and its binding state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    pub receiver_no: String,
    pub channel: Channel,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    pub receiver_name: Option<String>,
    pub relation_type: RelationType,
    pub relation_name: Option<String>,
    /// How many groups list this receiver; it cannot be removed while above 0.
    pub group_count: i64,
    pub state: BindState,
}

impl Receiver {
    /// The same binding at the channel (an add repeated with the same details).
    pub fn same_binding(&self, other: &Receiver) -> bool {
        self.channel == other.channel
            && self.receiver_type == other.receiver_type
            && self.receiver_account == other.receiver_account
            && self.receiver_name == other.receiver_name
            && self.relation_type == other.relation_type
            && self.relation_name == other.relation_name
    }

    pub fn account(&self) -> Account {
        Account {
            receiver_type: self.receiver_type,
            account: self.receiver_account.clone(),
            name: self.receiver_name.clone(),
        }
    }
}

/// A member of a group: a copy of the receiver's account (receivers never change) and its rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub receiver_no: String,
    /// Basis points (1/10000 of the pay amount).
    pub rate: i64,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    pub receiver_name: Option<String>,
}

impl GroupMember {
    pub fn account(&self) -> Account {
        Account {
            receiver_type: self.receiver_type,
            account: self.receiver_account.clone(),
            name: self.receiver_name.clone(),
        }
    }
}

/// A named set of receivers with rates, of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub group_no: String,
    pub name: String,
    pub channel: Channel,
    pub remark: Option<String>,
    pub members: Vec<GroupMember>,
}

impl Group {
    pub fn total_rate(&self) -> i64 {
        self.members.iter().map(|m| m.rate).sum()
    }

    /// A group a start on `channel` may use: of that channel, with receivers.
    pub fn usable_for(&self, channel: Channel) -> Result<(), Refusal> {
        if self.channel != channel {
            return Err(Refusal::GroupOfOtherChannel {
                group_no: self.group_no.clone(),
                channel,
                belongs_to: self.channel,
            });
        }
        if self.members.is_empty() {
            return Err(Refusal::GroupEmpty(self.group_no.clone()));
        }
        Ok(())
    }
}

/// The receivers a request names must exist and belong to `channel`; answered in the order
/// they were named.
pub fn check_receivers<'a>(
    channel: Channel,
    wanted: impl IntoIterator<Item = &'a str>,
    found: &'a [Receiver],
) -> Result<Vec<&'a Receiver>, Refusal> {
    let mut out = Vec::new();
    for no in wanted {
        let Some(r) = found.iter().find(|r| r.receiver_no == no) else {
            return Err(Refusal::ReceiverNotFound(no.to_owned()));
        };
        if r.channel != channel {
            return Err(Refusal::ReceiverOfOtherChannel {
                receiver_no: no.to_owned(),
                channel,
                belongs_to: r.channel,
            });
        }
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_must_exist_and_match_the_channel() {
        let r = |no: &str, channel, receiver_type| Receiver {
            receiver_no: no.into(),
            channel,
            receiver_type,
            receiver_account: "a".into(),
            receiver_name: None,
            relation_type: RelationType::Partner,
            relation_name: None,
            group_count: 0,
            state: BindState::Bound,
        };
        let found = vec![
            r("ali", Channel::AliPay, ReceiverType::AliUserId),
            r("wx", Channel::WechatPay, ReceiverType::WxPersonal),
        ];
        assert!(check_receivers(Channel::AliPay, ["ali"], &found).is_ok());
        let other = check_receivers(Channel::AliPay, ["ali", "wx"], &found).map(|_| ());
        assert!(other.is_err_and(|e| {
            let e = e.to_string();
            e.contains("wx") && e.contains("ali_pay") && e.contains("wechat_pay")
        }));
        assert!(
            check_receivers(Channel::WechatPay, ["nobody"], &found)
                .is_err_and(|e| e.to_string().contains("分账接收方不存在"))
        );
    }
}
