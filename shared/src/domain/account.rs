//! A receiver's account at a channel, and how accounts are shown outside the store: masked.

use super::codes::ReceiverType;

/// A receiver's account at a channel: the one shape receivers, group members and details share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub receiver_type: ReceiverType,
    pub account: String,
    pub name: Option<String>,
}

/// Masks an account for display: keeps a few characters at each end (`2088****1234`).
pub fn mask_account(account: &str) -> String {
    let chars: Vec<char> = account.chars().collect();
    let n = chars.len();
    let keep = match n {
        0..=2 => 0,
        3..=6 => 1,
        7..=10 => 2,
        _ => 4,
    };
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[n - keep..].iter().collect();
    format!("{head}****{tail}")
}

/// Masks every receiver account of `accounts` that appears in a channel's text (an error
/// message may quote the account it refuses). Accounts shorter than 3 characters are left: they
/// would match ordinary words.
pub fn mask_accounts_in(text: &str, accounts: &[&str]) -> String {
    let mut out = text.to_owned();
    for account in accounts {
        if account.chars().count() >= 3 && out.contains(account) {
            out = out.replace(account, &mask_account(account));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{mask_account, mask_accounts_in};

    #[test]
    fn accounts_in_channel_texts_are_masked() {
        assert_eq!(
            mask_accounts_in(
                "分账接收方 oUpF8uMuAJO_M2pxb1Q9zNjWeS6o 重复",
                &["oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "19"]
            ),
            "分账接收方 oUpF****eS6o 重复"
        );
        assert_eq!(
            mask_accounts_in("余额不足", &["2088000000000011"]),
            "余额不足"
        );
    }

    #[test]
    fn masks_keep_little() {
        assert_eq!(mask_account("2088123412341234"), "2088****1234");
        assert_eq!(mask_account("a@b.cn"), "a****n");
        assert_eq!(mask_account("ab"), "****");
        assert_eq!(mask_account("用户账号很长的名字啊"), "用户****字啊");
    }
}
