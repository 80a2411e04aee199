//! The route table (SPEC §2): every endpoint once, with its path as DaxPay (or we, for our own
//! endpoints) spell it. Paths match case-insensitively (`/uniPay/...` in one seed) and a
//! trailing `/` is ignored. The OpenAPI document served at `GET /openapi.json`
//! (`shared/openapi.json`) lists exactly these routes; a test holds the two together.

use super::v3::AllocOp;

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint<'p> {
    OpenApi,
    PayOrderFeed,
    RefundFeed,
    /// A channel's notification, by the channel's callback name (`alipay`, `wechat`): the
    /// channel registry decides, so a third channel adds no route.
    Callback(&'p str),
    Start,
    Finish,
    Sync,
    SyncMany,
    QueryOrder,
    QueryNotices,
    ResendNotice,
    QueryPayOrder,
    Flagged,
    OrdersByDay,
    Statement,
    Discrepancies,
    Return,
    QueryReturn,
    Allocatable,
    ReceiverAdd,
    ReceiverRemove,
    QueryReceivers,
    GroupCreate,
    GroupUpdate,
    GroupDelete,
    GroupBind,
    GroupUnbind,
    GroupSetDefault,
    GroupClearDefault,
    GroupQuery,
    /// DaxPay 3.0.0-beta4's allocation endpoints (`/unipay/alloc/...`).
    Alloc(super::v3::AllocOp),
}

/// The route of the pay-order feed (DaxPay's signed payment notice).
pub const FEED_PATH: &str = "/feed/pay-order";
/// The route of the refund feed (DaxPay's signed refund notice).
pub const REFUND_FEED_PATH: &str = "/feed/refund";
/// Channel notifications arrive at `/callback/<channel>`.
pub const CALLBACK_PREFIX: &str = "/callback/";

/// Every route: method, path (`{channel}` stands for a callback name), endpoint.
pub const ROUTES: &[(&str, &str, Endpoint<'static>)] = &[
    ("GET", "/openapi.json", Endpoint::OpenApi),
    ("POST", FEED_PATH, Endpoint::PayOrderFeed),
    ("POST", REFUND_FEED_PATH, Endpoint::RefundFeed),
    (
        "POST",
        "/callback/{channel}",
        Endpoint::Callback("{channel}"),
    ),
    ("POST", "/unipay/allocation/start", Endpoint::Start),
    ("POST", "/unipay/allocation/finish", Endpoint::Finish),
    ("POST", "/unipay/sync/allocation", Endpoint::Sync),
    ("POST", "/unipay/sync/allocations", Endpoint::SyncMany),
    (
        "POST",
        "/unipay/query/allocationOrder",
        Endpoint::QueryOrder,
    ),
    (
        "POST",
        "/unipay/query/allocationNotice",
        Endpoint::QueryNotices,
    ),
    (
        "POST",
        "/unipay/allocation/notice/resend",
        Endpoint::ResendNotice,
    ),
    ("POST", "/unipay/query/payOrder", Endpoint::QueryPayOrder),
    (
        "POST",
        "/unipay/query/flaggedAllocations",
        Endpoint::Flagged,
    ),
    (
        "POST",
        "/unipay/query/allocationOrders",
        Endpoint::OrdersByDay,
    ),
    (
        "POST",
        "/unipay/query/reconcileStatement",
        Endpoint::Statement,
    ),
    (
        "POST",
        "/unipay/query/reconcileDiscrepancies",
        Endpoint::Discrepancies,
    ),
    ("POST", "/unipay/allocation/return", Endpoint::Return),
    (
        "POST",
        "/unipay/query/allocationReturn",
        Endpoint::QueryReturn,
    ),
    ("POST", "/unipay/query/allocatable", Endpoint::Allocatable),
    (
        "POST",
        "/unipay/allocation/receiver/add",
        Endpoint::ReceiverAdd,
    ),
    (
        "POST",
        "/unipay/allocation/receiver/remove",
        Endpoint::ReceiverRemove,
    ),
    (
        "POST",
        "/unipay/query/allocationReceiver",
        Endpoint::QueryReceivers,
    ),
    (
        "POST",
        "/unipay/allocation/group/create",
        Endpoint::GroupCreate,
    ),
    (
        "POST",
        "/unipay/allocation/group/update",
        Endpoint::GroupUpdate,
    ),
    (
        "POST",
        "/unipay/allocation/group/delete",
        Endpoint::GroupDelete,
    ),
    ("POST", "/unipay/allocation/group/bind", Endpoint::GroupBind),
    (
        "POST",
        "/unipay/allocation/group/unbind",
        Endpoint::GroupUnbind,
    ),
    (
        "POST",
        "/unipay/allocation/group/setDefault",
        Endpoint::GroupSetDefault,
    ),
    (
        "POST",
        "/unipay/allocation/group/clearDefault",
        Endpoint::GroupClearDefault,
    ),
    (
        "POST",
        "/unipay/allocation/group/query",
        Endpoint::GroupQuery,
    ),
    (
        "POST",
        "/unipay/alloc/start",
        Endpoint::Alloc(AllocOp::Start),
    ),
    (
        "POST",
        "/unipay/alloc/finish",
        Endpoint::Alloc(AllocOp::Finish),
    ),
    ("POST", "/unipay/alloc/sync", Endpoint::Alloc(AllocOp::Sync)),
    (
        "POST",
        "/unipay/alloc/query",
        Endpoint::Alloc(AllocOp::Query),
    ),
    (
        "POST",
        "/unipay/alloc/receiver/add",
        Endpoint::Alloc(AllocOp::ReceiverAdd),
    ),
    (
        "POST",
        "/unipay/alloc/receiver/remove",
        Endpoint::Alloc(AllocOp::ReceiverRemove),
    ),
    (
        "POST",
        "/unipay/alloc/receiver/list",
        Endpoint::Alloc(AllocOp::ReceiverList),
    ),
];

/// The prefix under which every route is also served for one app (SPEC §8.2): DaxPay's 2.0.x
/// SDKs build each URL as `serviceUrl + path`, so a merchant sets
/// `serviceUrl = https://<host>/app/<appId>`.
pub const APP_PREFIX: &str = "/app/";

/// The app a path names with its `/app/{appId}` prefix (matched case-insensitively, the id as
/// written), and the rest of the path. A path without the prefix names no app (the stack's
/// default); `/app/{appId}` alone is a path of no route.
pub fn split_app(path: &str) -> (Option<&str>, &str) {
    let Some(prefix) = path.get(..APP_PREFIX.len()) else {
        return (None, path);
    };
    if !prefix.eq_ignore_ascii_case(APP_PREFIX) {
        return (None, path);
    }
    let after = &path[APP_PREFIX.len()..];
    match after.find('/') {
        Some(i) if i > 0 => (Some(&after[..i]), &after[i..]),
        _ => (None, path),
    }
}

/// A provider's notification route, `/provider/{providerId}/callback/<channel>` (SPEC §6.5):
/// the provider and the channel's callback name.
pub fn provider_callback<'p>(method: &str, path: &'p str) -> Option<(&'p str, &'p str)> {
    const PREFIX: &str = "/provider/";
    let head = path.get(..PREFIX.len())?;
    if method != "POST" || !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let (provider, rest) = path[PREFIX.len()..].split_once('/')?;
    let rest = rest.trim_end_matches('/');
    let name = rest.get(..CALLBACK_PREFIX.len() - 1).and_then(|head| {
        head.eq_ignore_ascii_case(&CALLBACK_PREFIX[1..])
            .then(|| &rest[CALLBACK_PREFIX.len() - 1..])
    })?;
    (!provider.is_empty() && !name.is_empty() && !name.contains('/')).then_some((provider, name))
}

/// The endpoint of a request, if any.
pub fn route<'p>(method: &str, path: &'p str) -> Option<Endpoint<'p>> {
    let path = path.trim_end_matches('/');
    if method == "POST"
        && let Some(prefix) = path.get(..CALLBACK_PREFIX.len())
        && prefix.eq_ignore_ascii_case(CALLBACK_PREFIX)
    {
        let name = &path[CALLBACK_PREFIX.len()..];
        return (!name.is_empty() && !name.contains('/')).then_some(Endpoint::Callback(name));
    }
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method && p.eq_ignore_ascii_case(path))
        .map(|(_, _, endpoint)| *endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_reaches_its_endpoint_in_any_case_with_or_without_a_trailing_slash() {
        for (method, path, endpoint) in ROUTES {
            let path = path.replace("{channel}", "alipay");
            let expected = match endpoint {
                Endpoint::Callback(_) => Endpoint::Callback("alipay"),
                other => *other,
            };
            assert_eq!(route(method, &path), Some(expected), "{path}");
            assert!(route(method, &path.to_uppercase()).is_some(), "{path}");
            assert_eq!(
                route(method, &format!("{path}/")),
                Some(expected),
                "{path}/"
            );
        }
    }

    #[test]
    fn unknown_paths_and_methods_have_no_endpoint() {
        assert_eq!(route("GET", "/unipay/allocation/start"), None);
        assert_eq!(route("POST", "/openapi.json"), None);
        assert_eq!(route("POST", "/unipay/allocation/start/x"), None);
        assert_eq!(route("POST", "/callback/"), None);
        assert_eq!(route("POST", "/callback/alipay/x"), None);
        assert_eq!(route("GET", "/callback/alipay"), None);
        assert_eq!(
            route("POST", "/uniPay/Query/AllocationOrder"),
            Some(Endpoint::QueryOrder)
        );
    }

    #[test]
    fn every_route_is_also_served_under_an_app_prefix() {
        for (method, path, endpoint) in ROUTES {
            let path = path.replace("{channel}", "alipay");
            let prefixed = format!("/app/shop-1{path}");
            let (app, rest) = split_app(&prefixed);
            assert_eq!(app, Some("shop-1"));
            let expected = match endpoint {
                Endpoint::Callback(_) => Endpoint::Callback("alipay"),
                other => *other,
            };
            assert_eq!(route(method, rest), Some(expected), "{prefixed}");
        }
        assert_eq!(
            split_app("/APP/Shop-1/unipay/allocation/start"),
            (Some("Shop-1"), "/unipay/allocation/start")
        );
        assert_eq!(
            split_app("/unipay/allocation/start"),
            (None, "/unipay/allocation/start")
        );
        assert_eq!(split_app("/app/shop-1"), (None, "/app/shop-1"));
        assert_eq!(
            provider_callback("POST", "/provider/sp-1/callback/wechat"),
            Some(("sp-1", "wechat"))
        );
        assert_eq!(
            provider_callback("GET", "/provider/sp-1/callback/wechat"),
            None
        );
        assert_eq!(provider_callback("POST", "/provider/sp-1/callback/"), None);
        assert_eq!(
            provider_callback("POST", "/provider//callback/wechat"),
            None
        );
        assert_eq!(
            split_app("/app//unipay/allocation/start"),
            (None, "/app//unipay/allocation/start")
        );
        assert_eq!(route("POST", split_app("/app/shop-1").1), None);
    }

    #[test]
    fn each_endpoint_has_one_route() {
        for (i, (m, p, _)) in ROUTES.iter().enumerate() {
            for (m2, p2, _) in &ROUTES[i + 1..] {
                assert!(!(m == m2 && p.eq_ignore_ascii_case(p2)), "{m} {p} twice");
            }
        }
    }

    /// The document served at `GET /openapi.json` and the route table name the same routes:
    /// a route the document lacks, or a documented route that does not exist, fails here. The
    /// admin routes (`/admin/...`, handled by `http::admin`, not in the table) are documented
    /// too: each of them once, and nothing else under `/admin/`.
    #[test]
    fn the_openapi_document_lists_exactly_the_routes() {
        use std::collections::BTreeSet;
        /// The routes `http::admin::route` answers, as the document spells their paths.
        const ADMIN_ROUTES: &[(&str, &str)] = &[
            ("POST", "/admin/merchants"),
            ("GET", "/admin/merchants"),
            ("GET", "/admin/merchants/{mchNo}"),
            ("POST", "/admin/merchants/{mchNo}/enable"),
            ("POST", "/admin/merchants/{mchNo}/disable"),
            ("GET", "/admin/merchants/{mchNo}/apps"),
            ("POST", "/admin/apps"),
            ("GET", "/admin/apps/{appId}"),
            ("POST", "/admin/apps/{appId}/enable"),
            ("POST", "/admin/apps/{appId}/disable"),
            ("POST", "/admin/apps/{appId}/rotate-secret"),
            ("POST", "/admin/apps/{appId}/settings"),
            ("POST", "/admin/apps/{appId}/reconcile"),
            ("PUT", "/admin/apps/{appId}/channels/{channel}"),
            ("DELETE", "/admin/apps/{appId}/channels/{channel}"),
            ("GET", "/admin/audit"),
            ("POST", "/admin/providers"),
            ("GET", "/admin/providers/{providerId}"),
            ("PUT", "/admin/providers/{providerId}/channels/{channel}"),
            ("DELETE", "/admin/providers/{providerId}/channels/{channel}"),
        ];
        for (_, path) in ADMIN_ROUTES {
            assert!(path.starts_with(crate::http::admin::ADMIN_PREFIX), "{path}");
        }
        /// A provider's notifications ([`provider_callback`], not in the table either).
        const PROVIDER_CALLBACK: (&str, &str) =
            ("POST", "/provider/{providerId}/callback/{channel}");
        assert_eq!(
            provider_callback(PROVIDER_CALLBACK.0, PROVIDER_CALLBACK.1),
            Some(("{providerId}", "{channel}"))
        );
        let doc: serde_json::Value =
            serde_json::from_str(&crate::http::openapi().unwrap()).unwrap();
        assert_eq!(
            doc["openapi"].as_str().map(|v| v.starts_with("3.1")),
            Some(true)
        );
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let normal = match path.strip_prefix(CALLBACK_PREFIX) {
                Some(_) => "/callback/{channel}".to_owned(),
                None => path.to_ascii_lowercase(),
            };
            for method in item.as_object().unwrap().keys() {
                if ["get", "post", "put", "delete", "patch", "head", "options"]
                    .contains(&method.as_str())
                {
                    documented.insert((method.to_ascii_uppercase(), normal.clone()));
                }
            }
        }
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, p, _)| (*m, *p))
            .chain(ADMIN_ROUTES.iter().copied())
            .chain([PROVIDER_CALLBACK])
            .map(|(m, p)| (m.to_owned(), p.to_ascii_lowercase()))
            .collect();
        assert_eq!(
            routed.len(),
            ROUTES.len() + ADMIN_ROUTES.len() + 1,
            "an admin route is also in the route table, or listed twice"
        );
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from openapi.json: {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "documented but neither routed nor an admin route: {unrouted:?}"
        );
    }
}
