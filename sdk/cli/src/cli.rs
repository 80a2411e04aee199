//! The command line: global settings, one subcommand per endpoint family.

use alloc_client::{AllocationStatus, Channel, ReceiverType, RelationType};
use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgGroup, Command, value_parser};

const ABOUT: &str = "The allocation (分账) API from the command line: every request signed, every \
answer verified before it is shown.";

const AFTER_HELP: &str = "\
Configuration (a flag overrides the environment, which overrides the file):
  --url          ALLOC_URL           url            the service's base URL (http:// or https://)
  --sign-secret  ALLOC_SIGN_SECRET   sign_secret    the deployment's sign secret
  --sign-type    ALLOC_SIGN_TYPE     sign_type      HMAC_SHA256 (default) or MD5
  --spelling     ALLOC_SPELLING      spelling       2.0.7 (allocationNo..., default) or 2.0.8 (allocNo...)
  --timeout      ALLOC_TIMEOUT_SECS  timeout_secs   seconds per attempt (default 20)
  --retries      ALLOC_RETRIES       retries        extra attempts of a retried call (default 2)
  --client-ip    ALLOC_CLIENT_IP     client_ip      clientIp sent with each request
The file is --config PATH, else $XDG_CONFIG_HOME/alloc/config, else ~/.config/alloc/config:
`key = value` lines, `#` starts a comment. `alloc sign` also reads SIGN_SECRET and SIGN_TYPE.
Prefer the environment or the file for the secret: a flag is visible to other users.

Retries: queries (reconcile ones too), start (same bizAllocationNo and fields: the same order),
return (bizReturnNo), sync and orders sync are sent again after a timeout, a dropped connection,
an HTTP 5xx or 10001 系统错误, with backoff; finish, resend and receiver and group changes are
sent once.

Output: a table; --json prints the verified `data` of the answer as one line of JSON.

`alloc admin ...` calls the admin API instead (see `alloc admin --help`): not signed with the
sign secret but with SigV4, with the caller's AWS credentials from the environment.

Exit codes:
  0  success
  1  the service refused: a verified refusal (data code != 0) or a rejected request (envelope
     code != 0: 10005 malformed, 10006 validation, 20052 signature, 10010 unknown path); the
     message is printed to stderr
  2  usage error: bad arguments, configuration or JSON
  3  transport failure (connection, timeout), server error (HTTP status other than 200, 10001
     系统错误) or an answer that failed verification (bad signature, unreadable)";

fn codes(known: impl Iterator<Item = &'static str>) -> PossibleValuesParser {
    PossibleValuesParser::new(known)
}

fn text(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name).long(name).value_name("TEXT").help(help)
}

fn fen(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("FEN")
        .help(help)
        .value_parser(value_parser!(u64).range(1..))
}

fn channel(required: bool) -> Arg {
    Arg::new("channel")
        .long("channel")
        .value_name("CHANNEL")
        .required(required)
        .value_parser(codes(Channel::KNOWN.iter().map(Channel::as_str)))
}

/// `[ALLOCATION_NO] | --biz-allocation-no NO`: an allocation order.
fn order_ref(cmd: Command) -> Command {
    cmd.arg(
        Arg::new("allocation_no")
            .value_name("ALLOCATION_NO")
            .help("the service's allocationNo"),
    )
    .arg(
        Arg::new("biz_allocation_no")
            .long("biz-allocation-no")
            .visible_alias("biz")
            .value_name("NO")
            .help("the merchant's number instead"),
    )
    .group(
        ArgGroup::new("order")
            .args(["allocation_no", "biz_allocation_no"])
            .required(true),
    )
}

/// `[ORDER_NO] | --biz-order-no NO`: a pay order.
fn pay_order_ref(cmd: Command) -> Command {
    cmd.arg(
        Arg::new("order_no")
            .value_name("ORDER_NO")
            .help("the payment gateway's number"),
    )
    .arg(
        Arg::new("biz_order_no")
            .long("biz-order-no")
            .value_name("NO")
            .help("the merchant's number instead"),
    )
    .group(
        ArgGroup::new("pay_order")
            .args(["order_no", "biz_order_no"])
            .required(true),
    )
}

/// `--page-size N`: one page of a list, 1 to 100.
fn page_size() -> Arg {
    Arg::new("page-size")
        .long("page-size")
        .value_name("N")
        .value_parser(value_parser!(u32).range(1..=100))
}

fn group_no() -> Arg {
    Arg::new("group_no").value_name("GROUP_NO").required(true)
}

fn group_save(name: &'static str, about: &'static str) -> Command {
    Command::new(name)
        .about(about)
        .arg(group_no())
        .arg(text("name", "the group's name").required(true))
        .arg(channel(true))
        .arg(text("remark", "a remark"))
}

fn global(name: &'static str, value: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name(value)
        .help(help)
        .global(true)
}

pub fn command() -> Command {
    Command::new("alloc")
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .after_help(AFTER_HELP)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(global("url", "URL", "the service's base URL"))
        .arg(global("sign-secret", "SECRET", "the sign secret (prefer ALLOC_SIGN_SECRET)"))
        .arg(
            global("sign-type", "TYPE", "HMAC_SHA256 or MD5")
                .value_parser(["HMAC_SHA256", "MD5"]),
        )
        .arg(global("spelling", "VERSION", "2.0.7 or 2.0.8").value_parser(["2.0.7", "2.0.8"]))
        .arg(global("config", "PATH", "the configuration file"))
        .arg(
            global("timeout", "SECS", "seconds per attempt")
                .value_parser(value_parser!(u64).range(1..=600)),
        )
        .arg(
            global("retries", "N", "extra attempts of a retried call")
                .value_parser(value_parser!(u32).range(0..=10)),
        )
        .arg(global("client-ip", "IP", "clientIp sent with each request"))
        .arg(
            Arg::new("json")
                .long("json")
                .global(true)
                .action(ArgAction::SetTrue)
                .help("print the verified data as JSON"),
        )
        .subcommand(
            Command::new("start")
                .about("start an allocation of a paid order")
                .arg(
                    Arg::new("biz_allocation_no")
                        .value_name("BIZ_ALLOCATION_NO")
                        .required(true)
                        .help("the merchant's number; a repeat with the same fields is the same order"),
                )
                .arg(
                    Arg::new("order_no")
                        .long("order-no")
                        .value_name("NO")
                        .help("the pay order"),
                )
                .arg(
                    Arg::new("biz_order_no")
                        .long("biz-order-no")
                        .value_name("NO")
                        .help("the pay order by the merchant's number"),
                )
                .group(
                    ArgGroup::new("pay_order")
                        .args(["order_no", "biz_order_no"])
                        .required(true),
                )
                .arg(
                    Arg::new("receiver")
                        .long("receiver")
                        .value_name("RECEIVER_NO=FEN")
                        .action(ArgAction::Append)
                        .value_parser(pair::<u64>)
                        .help("an explicit share (repeat for each receiver)"),
                )
                .arg(
                    Arg::new("group")
                        .long("group")
                        .value_name("GROUP_NO")
                        .conflicts_with("receiver")
                        .help("split by this group's rates (default: the channel's default group)"),
                )
                .arg(text("description", "a description"))
                .arg(text("notify-url", "where notices go"))
                .arg(text("attach", "echoed in notices"))
                .arg(
                    Arg::new("not-notify")
                        .long("not-notify")
                        .action(ArgAction::SetTrue)
                        .help("send no notice for this order"),
                ),
        )
        .subcommand(order_ref(
            Command::new("finish").about("finish an ended order: release the unsplit rest"),
        ))
        .subcommand(order_ref(
            Command::new("sync").about("ask the channel about an order now"),
        ))
        .subcommand(order_ref(
            Command::new("query").about("an order and its receivers' shares"),
        ))
        .subcommand(order_ref(
            Command::new("notices").about("an order's merchant notices and their attempts"),
        ))
        .subcommand(
            order_ref(Command::new("resend").about("send an order's notice again")).arg(
                Arg::new("status")
                    .long("status")
                    .value_name("STATUS")
                    .value_parser(codes(AllocationStatus::KNOWN.iter().map(AllocationStatus::as_str)))
                    .help("which notice (default: the order's current status)"),
            ),
        )
        .subcommand(
            Command::new("orders")
                .about("operations on many orders")
                .subcommand_required(true)
                .subcommand(
                    Command::new("flagged")
                        .about("orders flagged for a human, newest first")
                        .arg(page_size())
                        .arg(text("cursor", "the nextCursor of the previous page")),
                )
                .subcommand(
                    Command::new("list")
                        .about("orders of a status created on a day (Beijing time), newest first")
                        .arg(
                            Arg::new("status")
                                .long("status")
                                .value_name("STATUS")
                                .required(true)
                                .value_parser(codes(
                                    AllocationStatus::KNOWN.iter().map(AllocationStatus::as_str),
                                )),
                        )
                        .arg(text("day", "yyyy-MM-dd").required(true))
                        .arg(page_size())
                        .arg(text("cursor", "the nextCursor of the previous page")),
                )
                .subcommand(
                    Command::new("sync")
                        .about("queue a sync of each order still processing")
                        .arg(
                            Arg::new("allocation_nos")
                                .value_name("ALLOCATION_NO")
                                .required(true)
                                .num_args(1..=50),
                        ),
                ),
        )
        .subcommand(pay_order_ref(
            Command::new("pay-order").about("a pay order as the feed stored it"),
        ))
        .subcommand(pay_order_ref(
            Command::new("allocatable")
                .about("what a pay order can still split, ours beside the channel's"),
        ))
        .subcommand(
            Command::new("return")
                .about("returns (分账回退): take money back from a receiver")
                .subcommand_required(true)
                .subcommand(
                    Command::new("create")
                        .about("take money back from one receiver of a split order")
                        .arg(
                            Arg::new("biz_return_no")
                                .value_name("BIZ_RETURN_NO")
                                .required(true)
                                .help("the merchant's number; a repeat is the same return"),
                        )
                        .arg(text("allocation-no", "the order"))
                        .arg(text("biz-allocation-no", "the order by the merchant's number"))
                        .group(
                            ArgGroup::new("order")
                                .args(["allocation-no", "biz-allocation-no"])
                                .required(true),
                        )
                        .arg(text("receiver", "the receiver").required(true))
                        .arg(fen("amount", "how much").required(true))
                        .arg(text("description", "a description"))
                        .arg(text("notify-url", "where the return's notice goes"))
                        .arg(text("attach", "echoed in the notice"))
                        .arg(text("biz-refund-no", "Alipay: the refund that carries it")),
                )
                .subcommand(
                    Command::new("query")
                        .about("one return, or every return of an order")
                        .arg(text("return-no", "the service's number"))
                        .arg(text("biz-return-no", "the merchant's number"))
                        .arg(text("allocation-no", "every return of this order"))
                        .arg(text("biz-allocation-no", "... by the merchant's number"))
                        .group(
                            ArgGroup::new("which")
                                .args([
                                    "return-no",
                                    "biz-return-no",
                                    "allocation-no",
                                    "biz-allocation-no",
                                ])
                                .multiple(true)
                                .required(true),
                        ),
                ),
        )
        .subcommand(
            Command::new("receivers")
                .about("receivers: bound at the channel, then stored")
                .subcommand_required(true)
                .subcommand(
                    Command::new("add")
                        .about("add a receiver")
                        .arg(Arg::new("receiver_no").value_name("RECEIVER_NO").required(true))
                        .arg(channel(true))
                        .arg(
                            Arg::new("type")
                                .long("type")
                                .value_name("TYPE")
                                .required(true)
                                .value_parser(codes(ReceiverType::KNOWN.iter().map(ReceiverType::as_str))),
                        )
                        .arg(text("account", "the account at the channel").required(true))
                        .arg(text("name", "the receiver's name"))
                        .arg(
                            Arg::new("relation")
                                .long("relation")
                                .value_name("RELATION")
                                .required(true)
                                .value_parser(codes(RelationType::KNOWN.iter().map(RelationType::as_str))),
                        )
                        .arg(text("relation-name", "required with CUSTOM")),
                )
                .subcommand(
                    Command::new("remove")
                        .about("remove a receiver (not while a group lists it)")
                        .arg(Arg::new("receiver_no").value_name("RECEIVER_NO").required(true)),
                )
                .subcommand(
                    Command::new("list")
                        .about("receivers by channel and/or number")
                        .arg(channel(false))
                        .arg(text("receiver-no", "one receiver"))
                        .group(
                            ArgGroup::new("which")
                                .args(["channel", "receiver-no"])
                                .multiple(true)
                                .required(true),
                        ),
                ),
        )
        .subcommand(
            Command::new("groups")
                .about("groups: receivers with rates, at most one default per channel")
                .subcommand_required(true)
                .subcommand(group_save("create", "create a group"))
                .subcommand(group_save("update", "rename a group (its channel stays)"))
                .subcommand(Command::new("delete").about("delete a group").arg(group_no()))
                .subcommand(
                    Command::new("bind")
                        .about("add receivers to a group, or change their rates")
                        .arg(group_no())
                        .arg(
                            Arg::new("rates")
                                .value_name("RECEIVER_NO=RATE")
                                .required(true)
                                .num_args(1..=50)
                                .value_parser(pair::<u32>)
                                .help("basis points: 6000 is 60%"),
                        ),
                )
                .subcommand(
                    Command::new("unbind")
                        .about("remove receivers from a group")
                        .arg(group_no())
                        .arg(
                            Arg::new("receiver_nos")
                                .value_name("RECEIVER_NO")
                                .required(true)
                                .num_args(1..=50),
                        ),
                )
                .subcommand(
                    Command::new("set-default")
                        .about("make a group its channel's default")
                        .arg(group_no()),
                )
                .subcommand(
                    Command::new("clear-default")
                        .about("a channel without a default group")
                        .arg(group_no()),
                )
                .subcommand(
                    Command::new("list")
                        .about("groups by number and/or channel")
                        .arg(text("group-no", "one group"))
                        .arg(channel(false))
                        .group(
                            ArgGroup::new("which")
                                .args(["group-no", "channel"])
                                .multiple(true)
                                .required(true),
                        ),
                ),
        )
        .subcommand(reconcile())
        .subcommand(admin())
        .subcommand(
            Command::new("sign")
                .about("print JSON signed: reqTime (now) and a nonceStr are added when absent")
                .arg(
                    Arg::new("notice")
                        .long("notice")
                        .action(ArgAction::SetTrue)
                        .help("sign only, add nothing (DaxPay's pay and refund notices)"),
                )
                .arg(
                    Arg::new("beta4")
                        .long("beta4")
                        .value_name("APP_ID")
                        .conflicts_with("notice")
                        .help(
                            "sign as DaxPay 3.0.0-beta4's SDK does, for /unipay/alloc/...: appId, \
                             reqTime (yyyy-MM-dd HH:mm:ss, Beijing) and a nonceStr are added \
                             when absent; a list member is signed as {}",
                        ),
                )
                .arg(Arg::new("object").value_name("JSON").required(true)),
        )
}

fn sharing_channel() -> Arg {
    Arg::new("channel")
        .long("channel")
        .value_name("CHANNEL")
        .required(true)
        .value_parser(channels())
}

fn day(help: &'static str) -> Arg {
    Arg::new("day")
        .long("day")
        .value_name("yyyy-MM-dd")
        .help(help)
}

/// `alloc reconcile ...`: the channels' bills against the service's records.
fn reconcile() -> Command {
    Command::new("reconcile")
        .about("reconciliation with the channels' bills: statements and discrepancies")
        .subcommand_required(true)
        .subcommand(
            Command::new("statement")
                .about("a day's statement, or those of a range of days (at most 31), newest first")
                .arg(sharing_channel())
                .arg(day("the day (Beijing time)").conflicts_with_all(["from", "to"]))
                .arg(
                    Arg::new("from")
                        .long("from")
                        .value_name("yyyy-MM-dd")
                        .requires("to")
                        .help("the first day of a range"),
                )
                .arg(
                    Arg::new("to")
                        .long("to")
                        .value_name("yyyy-MM-dd")
                        .requires("from")
                        .help("the last day of a range"),
                )
                .group(ArgGroup::new("days").args(["day", "from"]).required(true)),
        )
        .subcommand(
            Command::new("discrepancies")
                .about("a day's discrepancies, a page at a time, accounts masked")
                .arg(sharing_channel())
                .arg(day("the day (Beijing time)").required(true))
                .arg(page_size())
                .arg(text("cursor", "the nextCursor of the previous page")),
        )
}

const ADMIN_AFTER_HELP: &str = "\
The admin API (`/admin/...` of the same --url / ALLOC_URL) is guarded by AWS IAM: every call is
signed with SigV4 (service execute-api) with the caller's AWS credentials, read from the
environment only:
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   required
  AWS_SESSION_TOKEN                          with temporary credentials
  AWS_REGION, else AWS_DEFAULT_REGION        the stack's region (default us-east-1)
--url, --timeout, --retries and --config apply as for the other commands; reads are sent again
after a failure, changes once.

Output: a table; --json prints the answer as one line of JSON. A new sign secret (app create,
app rotate-secret) is shown once: store it then.

Exit codes: 0 success, 1 refused (HTTP 4xx, 403 when the credentials are refused), 2 usage
(missing credentials included), 3 transport failure or HTTP 5xx.";

fn id(name: &'static str, value: &'static str) -> Arg {
    Arg::new(name).value_name(value).required(true)
}

fn count(name: &'static str, help: &'static str, max: i64) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("N")
        .help(help)
        .value_parser(value_parser!(u32).range(1..=max))
}

fn file(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name).long(name).value_name("FILE").help(help)
}

fn channels() -> PossibleValuesParser {
    PossibleValuesParser::new(["ali_pay", "wechat_pay"])
}

/// `CHANNEL` and the flags of a direct account (an app's own, or a provider's).
fn direct_account(cmd: Command) -> Command {
    cmd.arg(id("channel", "CHANNEL").value_parser(channels()))
        .arg(text("account-app-id", "ali_pay: Alipay's app id (2021...)"))
        .arg(file(
            "private-key-file",
            "the private key (PKCS#8, PEM or base64 DER)",
        ))
        .arg(file(
            "public-key-file",
            "Alipay's / WeChat Pay's public key (SPKI, PEM or base64 DER)",
        ))
        .arg(file(
            "app-cert-file",
            "ali_pay certificate mode: appCertPublicKey_*.crt",
        ))
        .arg(file(
            "alipay-cert-file",
            "ali_pay certificate mode: alipayCertPublicKey_RSA2.crt",
        ))
        .arg(file(
            "root-cert-file",
            "ali_pay certificate mode: alipayRootCert.crt",
        ))
        .arg(text("gateway-url", "ali_pay: the OpenAPI gateway"))
        .arg(text("notify-url", "ali_pay: sent as notify_url"))
        .arg(text(
            "mchid",
            "wechat_pay: the merchant id (a provider's: its sp_mchid)",
        ))
        .arg(text(
            "appid",
            "wechat_pay: the appid (a provider's: its sp_appid)",
        ))
        .arg(text(
            "merchant-serial",
            "wechat_pay: the merchant API certificate's serial",
        ))
        .arg(text("public-key-id", "wechat_pay: PUB_KEY_ID_..."))
        .arg(file(
            "apiv3-key-file",
            "wechat_pay: the 32-character APIv3 key",
        ))
        .arg(text("base-url", "wechat_pay: the API host"))
}

/// `--mode provider` and the members of an app's account under a service provider.
fn provider_mode(cmd: Command) -> Command {
    cmd.arg(
        Arg::new("mode")
            .long("mode")
            .value_name("MODE")
            .value_parser(PossibleValuesParser::new(["direct", "provider"]))
            .default_value("direct")
            .help("direct: the app's own account and keys; provider: under a service provider"),
    )
    .arg(text("provider", "provider mode: the service provider's id"))
    .arg(text("sub-mchid", "wechat_pay provider mode: the sub-merchant (sub_mchid)"))
    .arg(text(
        "sub-appid",
        "wechat_pay provider mode: the sub-merchant's own appid (for PERSONAL_SUB_OPENID receivers)",
    ))
    .arg(text(
        "user-id",
        "ali_pay provider mode: the authorising merchant's user id (2088...)",
    ))
    .arg(text(
        "auth-app-id",
        "ali_pay provider mode: the merchant's app id (default: its user id)",
    ))
    .arg(file(
        "app-auth-token-file",
        "ali_pay provider mode: the merchant's app_auth_token",
    ))
    .arg(file(
        "app-refresh-token-file",
        "ali_pay provider mode: its app_refresh_token",
    ))
    .arg(epoch("expires-at", "ali_pay provider mode: when the token expires"))
    .arg(epoch(
        "refresh-expires-at",
        "ali_pay provider mode: when the refresh token expires",
    ))
}

fn epoch(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("EPOCH_SECS")
        .help(help)
        .value_parser(value_parser!(i64).range(1..))
}

/// `alloc admin provider ...`: service providers and their own accounts.
fn provider() -> Command {
    Command::new("provider")
        .about("service providers: a WeChat Pay service provider, an Alipay third-party app")
        .subcommand_required(true)
        .subcommand(
            Command::new("create")
                .about("create a provider (no account yet)")
                .arg(text("provider-id", "letters, digits, _ and - (1 to 32)").required(true))
                .arg(text("name", "the provider's name")),
        )
        .subcommand(
            Command::new("show")
                .about("one provider")
                .arg(id("provider_id", "PROVIDER_ID")),
        )
        .subcommand(
            Command::new("channel")
                .about("a provider's own account at a channel")
                .subcommand_required(true)
                .subcommand(direct_account(
                    Command::new("set")
                        .about("set a provider's account at ali_pay or wechat_pay (keys are read from files)")
                        .arg(id("provider_id", "PROVIDER_ID")),
                ))
                .subcommand(
                    Command::new("remove")
                        .about("remove a provider's account at a channel")
                        .arg(id("provider_id", "PROVIDER_ID"))
                        .arg(id("channel", "CHANNEL").value_parser(channels())),
                ),
        )
}

/// `alloc admin ...`: the admin API's routes.
fn admin() -> Command {
    let merchant = Command::new("merchant")
        .about("merchants: each has apps, refused while disabled")
        .subcommand_required(true)
        .subcommand(
            Command::new("create")
                .about("create a merchant")
                .arg(text("mch-no", "letters, digits, _ and - (1 to 32)").required(true))
                .arg(text("name", "the merchant's name").required(true)),
        )
        .subcommand(
            Command::new("list")
                .about("merchants, a page at a time")
                .arg(count("limit", "at most N (1 to 100, default 50)", 100))
                .arg(text("cursor", "the `next` of the previous page")),
        )
        .subcommand(
            Command::new("show")
                .about("one merchant")
                .arg(id("mch_no", "MCH_NO")),
        )
        .subcommand(
            Command::new("disable")
                .about("refuse every app of a merchant")
                .arg(id("mch_no", "MCH_NO")),
        )
        .subcommand(
            Command::new("enable")
                .about("serve a merchant's apps again")
                .arg(id("mch_no", "MCH_NO")),
        );
    let app = Command::new("app")
        .about("apps: a merchant's sign secret, settings and channel accounts")
        .subcommand_required(true)
        .subcommand(
            Command::new("create")
                .about("create an app; its sign secret is printed once")
                .arg(text("mch-no", "the merchant").required(true))
                .arg(text("app-id", "the app's id (default: made up by the service)"))
                .arg(text("name", "the app's name"))
                .after_help("--sign-type (HMAC_SHA256 or MD5) is the new app's sign type; default HMAC_SHA256"),
        )
        .subcommand(
            Command::new("list")
                .about("a merchant's apps")
                .arg(text("mch-no", "the merchant").required(true)),
        )
        .subcommand(Command::new("show").about("one app").arg(id("app_id", "APP_ID")))
        .subcommand(
            Command::new("disable")
                .about("refuse an app's requests")
                .arg(id("app_id", "APP_ID")),
        )
        .subcommand(
            Command::new("enable")
                .about("serve an app again")
                .arg(id("app_id", "APP_ID")),
        )
        .subcommand(
            Command::new("rotate-secret")
                .about("a new sign secret, printed once; the previous one verifies for a while")
                .arg(id("app_id", "APP_ID"))
                .arg(
                    Arg::new("grace-secs")
                        .long("grace-secs")
                        .value_name("N")
                        .help("how long the previous secret still verifies (0 to 604800, default 86400)")
                        .value_parser(value_parser!(u32).range(0..=604_800)),
                ),
        )
        .subcommand(
            Command::new("settings")
                .about("set app settings; NAME=null clears the app's own value")
                .arg(id("app_id", "APP_ID"))
                .arg(
                    Arg::new("settings")
                        .value_name("NAME=VALUE")
                        .required(true)
                        .num_args(1..)
                        .value_parser(setting)
                        .help("a value is JSON when it reads as JSON (600, true, null, [..]), else text"),
                ),
        );
    let channel = Command::new("channel")
        .about("an app's account at a channel: direct, or under a service provider")
        .subcommand_required(true)
        .subcommand(provider_mode(direct_account(
            Command::new("set")
                .about("set an app's account at ali_pay or wechat_pay (keys and tokens are read from files)")
                .arg(id("app_id", "APP_ID")),
        )))
        .subcommand(
            Command::new("remove")
                .about("remove an app's account at a channel")
                .arg(id("app_id", "APP_ID"))
                .arg(id("channel", "CHANNEL").value_parser(channels())),
        );
    Command::new("admin")
        .about("the admin API: merchants, apps, channel accounts, service providers, reconciliation re-runs, audit (AWS credentials)")
        .after_help(ADMIN_AFTER_HELP)
        .subcommand_required(true)
        .subcommand(merchant)
        .subcommand(app)
        .subcommand(channel)
        .subcommand(provider())
        .subcommand(
            Command::new("reconcile")
                .about("reconciliation with the channels' bills")
                .subcommand_required(true)
                .subcommand(
                    Command::new("run")
                        .about("queue a re-run of a day's reconciliation of an app's account at a channel")
                        .arg(text("app", "the app (the default app by its id too)").required(true))
                        .arg(sharing_channel())
                        .arg(day("before today, within the last 3 months").required(true)),
                ),
        )
        .subcommand(
            Command::new("audit")
                .about("who changed what, newest first")
                .arg(text(
                    "target",
                    "one merchant, app or provider: merchant:M1, app:X, provider:P",
                ))
                .arg(count("limit", "at most N (1 to 100, default 50)", 100))
                .arg(text("cursor", "the `next` of the previous page")),
        )
}

/// `NAME=VALUE` of `app settings`: the value as JSON when it reads as JSON, else as text.
fn setting(s: &str) -> Result<(String, serde_json::Value), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected NAME=VALUE"))?;
    if name.is_empty() {
        return Err(format!("`{s}`: the name is empty"));
    }
    let value =
        serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
    Ok((name.to_owned(), value))
}

/// `NAME=NUMBER`.
fn pair<N: std::str::FromStr>(s: &str) -> Result<(String, N), String> {
    let (name, number) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected NAME=NUMBER"))?;
    if name.is_empty() {
        return Err(format!("`{s}`: the name is empty"));
    }
    let number = number
        .parse()
        .map_err(|_| format!("`{s}`: `{number}` is not a whole number"))?;
    Ok((name.to_owned(), number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn settings_are_json_when_they_read_as_json() {
        use serde_json::json;
        assert_eq!(
            setting("reqTimeoutSecs=600"),
            Ok(("reqTimeoutSecs".into(), json!(600)))
        );
        assert_eq!(
            setting("notifyUrl=null"),
            Ok(("notifyUrl".into(), json!(null)))
        );
        assert_eq!(
            setting("fieldNames=2.0.8"),
            Ok(("fieldNames".into(), json!("2.0.8")))
        );
        assert_eq!(
            setting("autoFinish=false"),
            Ok(("autoFinish".into(), json!(false)))
        );
        assert_eq!(
            setting("notifyUrl=http://h/n?a=b"),
            Ok(("notifyUrl".into(), json!("http://h/n?a=b")))
        );
        assert_eq!(setting("name="), Ok(("name".into(), json!(""))));
        assert!(setting("=1").is_err() && setting("reqSign").is_err());
    }

    #[test]
    fn pairs() {
        assert_eq!(pair::<u64>("S1=6000"), Ok(("S1".into(), 6000)));
        assert!(pair::<u64>("S1=60.5").is_err());
        assert!(pair::<u64>("S1=-1").is_err());
        assert!(pair::<u64>("=5").is_err());
        assert!(pair::<u32>("S1").is_err());
    }
}
