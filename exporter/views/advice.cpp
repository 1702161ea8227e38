#include "exporter/views/advice.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <ranges>

#include <openssl/crypto.h>

#include "common/host_port.hpp"
#include "probes/smtp/stages.hpp"

namespace smtp_exporter::exporter {

using probes::failure_reason;
using probes::probe_kind;

namespace {

std::string port_text(const advice_context& c) { return std::to_string(c.port); }

bool implicit_port(std::uint16_t port) { return port == 465 || port == 994; }

std::string openssl_line(const advice_context& c) {
  const std::string version = c.openssl_version.empty() ? openssl_version() : c.openssl_version;
  return "This program runs " + version +
         "; an old OpenSSL or an outdated CA store is the usual cause of this.";
}

// " (550 5.7.1)": the deciding reply, when there was one.
std::string reply_text(const advice_context& c) {
  if (c.reply_code == 0) return "";
  return " (" + std::to_string(c.reply_code) +
         (c.enhanced_code.empty() ? std::string() : " " + c.enhanced_code) + ")";
}

using lines = std::vector<std::string>;

// One row per failure reason, in failure_reason order (static_asserts below): a reason added to
// probes/core/result.hpp without its row here does not compile.
struct reason_row {
  failure_reason reason;
  std::string_view headline;  // empty for success
  lines (*advice)(const advice_context& c);
};

constexpr reason_row reason_rows[] = {
    {failure_reason::none, "",
     [](const advice_context&) -> lines {
       return {};
     }},
    {failure_reason::resolve_failed, "DNS gave no address for the host",
     [](const advice_context& c) -> lines {
       return {
           "Check the host name: " + c.host + (c.provider ? " (the preset's host)" : "") + ".",
           "Check that this machine resolves names at all: `getent hosts " + c.host +
               "`, /etc/resolv.conf, and that outbound DNS (port 53) is allowed.",
       };
     }},
    {failure_reason::connect_refused, "refused: nothing listens, or a REJECT rule",
     [](const advice_context& c) -> lines {
       const std::string port = port_text(c);
       return {
           "The host answered with a reset: nothing listens on port " + port +
               " there, or a firewall REJECT rule answers for it (`reject with tcp reset`): from "
               "here the two look exactly the same, so a server that is up can read as refused.",
           "Check the port: `smtp_exporter providers` lists each provider's ports.",
           "Check this machine's firewall for a REJECT rule on port " + port +
               ": `iptables -S OUTPUT`, `nft list ruleset`.",
       };
     }},
    {failure_reason::connect_timeout,
     "blocked: no answer to the connection attempt (security group, firewall or provider)",
     [](const advice_context& c) -> lines {
       const std::string port = port_text(c);
       const std::string where = host_port(c.host, c.port);
       return {
           "Nothing answered the connection attempt to " + where +
               ": the packets are dropped on the way, which is what a blocked port looks like.",
           "The cloud platform's security group (or network ACL) must allow outbound TCP " + port +
               ".",
           "This machine's iptables or firewall must not drop port " + port +
               ": `iptables -S OUTPUT`, `nft list ruleset`, firewalld or ufw.",
           "Many cloud providers and ISPs block outbound 25, and some 465 and 587: ask them to "
           "lift the block, or use another port of the provider.",
           "A telnet to " + where + " that works from your own computer proves nothing about this "
               "machine: run the check from here.",
       };
     }},
    {failure_reason::connect_unreachable, "no route to the host",
     [](const advice_context& c) -> lines {
       return {
           "There is no route from this machine to " + c.host +
               " (routing, VPN, or IPv6 without connectivity).",
           "Check the route to the address shown above: `ip route get ADDRESS`.",
       };
     }},
    {failure_reason::connect_prohibited,
     "a firewall refused the connection (ICMP administratively prohibited): not the server",
     [](const advice_context& c) -> lines {
       const std::string port = port_text(c);
       return {
           "A firewall said no to the connection to " + host_port(c.host, c.port) +
               ": an ICMP \"administratively prohibited\" answer (the detail names who sent it), "
               "or a rule of this machine (Operation not permitted). The server may well be up; "
               "this is never \"server down\".",
           "The sender of the ICMP message is the filter: this machine's firewall (`nft list "
           "ruleset`, `iptables -S OUTPUT`), a router or firewall on the path, or the server's "
           "host firewall (`reject with icmpx admin-prohibited`, `--reject-with "
           "icmp-admin-prohibited`).",
           "The cloud platform's security group or network ACL may reject rather than drop: it "
           "must allow outbound TCP " + port + ".",
       };
     }},
    {failure_reason::banner_timeout, "connected, but no greeting",
     [](const advice_context& c) -> lines {
       const std::string port = port_text(c);
       std::vector<std::string> out{
           "The connection opened but the server never sent its 220 greeting."};
       if (c.mode != config::tls_mode::implicit) {
         out.push_back(implicit_port(c.port)
                           ? "Port " + port +
                                 " usually speaks TLS from the first byte, and such a server waits "
                                 "for the client's handshake: try `--tls implicit`."
                           : "A server that speaks TLS from the first byte (as on 465) waits for "
                             "the client's handshake: if port " + port +
                                 " is such a port, try `--tls implicit`.");
       }
       out.push_back(
           "Otherwise the server is overloaded or a tarpit, or something on the path (a "
           "transparent proxy, an antivirus' SMTP scanner) holds the connection.");
       return out;
     }},
    {failure_reason::banner_rejected, "server refuses this client: IP blacklisted?",
     [](const advice_context& c) -> lines {
       return {
           "The server refused this client before any command, with a " +
               std::to_string(c.reply_code ? c.reply_code : 554) + " greeting.",
           "Usually this machine's public (egress) IP is on a blacklist: the greeting often names "
           "the list. Look the IP up on the blacklist named, ask for delisting, or send through "
           "another IP or relay.",
           "A telnet that succeeds from your own computer does not clear this machine: its IP is "
           "another one.",
       };
     }},
    {failure_reason::banner_tempfail, "server busy or rate-limiting this IP",
     [](const advice_context& c) -> lines {
       return {
           "The server is busy or rate-limiting this IP (a " +
               std::to_string(c.reply_code ? c.reply_code : 421) + " greeting).",
           "Try again later; if it lasts, this IP may be throttled for sending too much.",
       };
     }},
    {failure_reason::ehlo_rejected, "server refused EHLO and HELO",
     [](const advice_context&) -> lines {
       return {
           "The server refused both EHLO and HELO.",
           "Some servers refuse a name that is not this machine's fully qualified DNS name: set "
           "`--ehlo-name` (or `ehlo_name` in the config) to it.",
       };
     }},
    {failure_reason::connection_closed, "server closed the connection mid-dialogue",
     [](const advice_context&) -> lines {
       return {
           "The server closed the connection in the middle of the dialogue (see the last lines of "
           "the transcript).",
           "Servers do this to clients they refuse (a blacklisted IP, too many connections); "
           "a middlebox that inspects SMTP can do it too.",
       };
     }},
    {failure_reason::protocol_error, "the reply was not SMTP",
     [](const advice_context& c) -> lines {
       const std::string port = port_text(c);
       std::vector<std::string> out{"The server's reply was not SMTP."};
       if (c.mode != config::tls_mode::implicit && implicit_port(c.port)) {
         out.push_back("Port " + port +
                       " usually speaks TLS from the first byte: try `--tls implicit`.");
       }
       out.push_back("Check that port " + port +
                     " is an SMTP port, and that no HTTP proxy or other service answers on it.");
       return out;
     }},
    {failure_reason::timeout, "the server stalled past the deadline",
     [](const advice_context&) -> lines {
       return {
           "The server stopped answering before the deadline.",
           "Try a longer `--timeout` to see whether it answers at all; a server that stalls after "
           "the greeting is often throttling this IP.",
       };
     }},
    {failure_reason::starttls_unsupported, "STARTTLS not offered",
     [](const advice_context&) -> lines {
       return {
           "The server's EHLO reply does not offer STARTTLS.",
           "Something on the path may strip it (some firewalls' and antivirus' \"SMTP inspection\" "
           "does), or the port expects TLS from the first byte (`--tls implicit`).",
       };
     }},
    {failure_reason::starttls_rejected, "STARTTLS refused",
     [](const advice_context& c) -> lines {
       return {
           "The server refused STARTTLS" +
               (c.reply_code ? " with " + std::to_string(c.reply_code) : std::string()) +
               ": it cannot do TLS now. Try again later or another port.",
       };
     }},
    {failure_reason::tls_handshake_failed, "TLS handshake failed",
     [](const advice_context& c) -> lines {
       const std::string port = port_text(c);
       std::vector<std::string> out{
           "The TLS handshake failed: no protocol version or cipher in common, or the server ended "
           "it."};
       if (c.mode == config::tls_mode::implicit && !implicit_port(c.port)) {
         out.push_back("Port " + port + " may expect STARTTLS rather than TLS from the first byte: "
                       "try `--tls starttls`.");
       }
       out.push_back(openssl_line(c));
       out.push_back("Check `min_tls_version`, and update OpenSSL (Debian: `apt-get install "
                     "--only-upgrade openssl libssl3`).");
       return out;
     }},
    {failure_reason::tls_timeout, "TLS stalled past the deadline",
     [](const advice_context& c) -> lines {
       return {
           "STARTTLS or the TLS handshake stalled past the deadline: something on the path may "
           "hold TLS traffic, or the server is overloaded.",
           "The handshake's first large packets are the server's certificates: a path that drops "
           "packets over some size without saying so (an MTU black hole: ICMP \"fragmentation "
           "needed\" / ICMPv6 \"packet too big\" filtered, often over a VPN or tunnel) stalls "
           "exactly here while the SMTP dialogue before it works. Check `ip route get ADDRESS` "
           "for the MTU and that those ICMP messages are allowed.",
           openssl_line(c),
       };
     }},
    {failure_reason::cert_expired, "certificate expired",
     [](const advice_context& c) -> lines {
       return {
           "A certificate the server sent has expired (see the chain above).",
           "If the provider's certificate is fine for everyone else, this machine's clock is "
           "wrong: check `date` and NTP.",
           openssl_line(c),
       };
     }},
    {failure_reason::cert_not_yet_valid, "certificate not valid yet (clock?)",
     [](const advice_context&) -> lines {
       return {
           "A certificate is not valid yet: this machine's clock is most likely behind. Check "
           "`date` and NTP.",
       };
     }},
    {failure_reason::cert_untrusted, "certificate not trusted by this machine's CA store",
     [](const advice_context& c) -> lines {
       return {
           "The certificate chain does not verify against this machine's CA store: an unknown or "
           "private CA, a self-signed certificate, or a server that sends an incomplete chain.",
           openssl_line(c),
           "Update the CA store (Debian: `apt-get install --reinstall ca-certificates && "
           "update-ca-certificates`), or give the private CA with `--ca-file` (`ca_file` in the "
           "config).",
       };
     }},
    {failure_reason::cert_hostname_mismatch, "certificate does not cover the host name",
     [](const advice_context& c) -> lines {
       return {
           "The certificate does not cover " +
               (c.server_name.empty() ? c.host : c.server_name) + ".",
           "Connect by the name the provider documents rather than an IP address or alias, or set "
           "`--server-name` (`server_name` in the config) to the name the certificate covers.",
       };
     }},
    {failure_reason::auth_unsupported, "no usable AUTH mechanism",
     [](const advice_context&) -> lines {
       return {
           "The server offers no AUTH mechanism the probe can use (or answered 504/534).",
           "Many servers offer AUTH only after STARTTLS; check the mechanism asked for "
           "(`--auth-mechanism`).",
       };
     }},
    {failure_reason::auth_requires_tls, "AUTH needs TLS first",
     [](const advice_context&) -> lines {
       return {
           "The server wants TLS before AUTH, or the probe refused to send the password over an "
           "unencrypted connection.",
           "Use the provider's TLS port or `--tls starttls`/`--tls implicit`.",
       };
     }},
    {failure_reason::auth_rejected, "username or password rejected",
     [](const advice_context& c) -> lines {
       std::vector<std::string> out{
           "The server rejected the username or password" +
           (c.reply_code ? " (" + std::to_string(c.reply_code) + ")." : std::string("."))};
       if (c.provider != nullptr && c.provider->authorization_code) {
         out.push_back(std::string(c.provider->display_name) +
                       ": the SMTP password is not the mailbox password but an authorization code "
                       "you apply for in the mailbox's settings. Use that code, and generate a new "
                       "one if it was revoked.");
       } else if (c.provider != nullptr && !c.provider->password_note.empty()) {
         out.push_back(std::string(c.provider->display_name) + ": the SMTP password is " +
                       std::string(c.provider->password_note) + "; generate a new one if it was "
                       "revoked.");
       }
       out.push_back("The username is usually the full e-mail address.");
       return out;
     }},
    {failure_reason::auth_tempfail, "server could not check the credentials now",
     [](const advice_context&) -> lines {
       return {"The server could not check the credentials now (4xx). Try again later."};
     }},
    {failure_reason::auth_basic_disabled, "password sign-in (basic auth) is off for this account",
     [](const advice_context& c) -> lines {
       return {
           "The server says passwords (\"basic authentication\") are turned off for this account "
           "or tenant" + reply_text(c) + ": no password will work, a new one included.",
           "Microsoft turns SMTP AUTH with passwords off for every Exchange Online tenant by "
           "default at the end of December 2026 and never enabled it for new tenants; "
           "Outlook.com and Hotmail have required OAuth since September 2024.",
           "Switch this target to OAuth 2.0: a `[target.auth.oauth2]` block (the exporter fetches "
           "and refreshes the token; XOAUTH2 or OAUTHBEARER is then chosen by itself). A tenant "
           "admin can still enable SMTP AUTH for one mailbox where the tenant allows it.",
       };
     }},
    {failure_reason::auth_app_password_required, "the account needs an app password",
     [](const advice_context& c) -> lines {
       return {
           "The server wants an application-specific password" + reply_text(c) +
               ", not the account's password: 2-Step Verification is on for it.",
           "Create an app password in the account's security settings (Google: "
           "myaccount.google.com/apppasswords) and use it as the password, or use OAuth 2.0 "
           "(XOAUTH2).",
       };
     }},
    {failure_reason::auth_web_login_required, "the account must sign in once in a browser",
     [](const advice_context& c) -> lines {
       return {
           "The server wants an interactive sign-in before it accepts this account over SMTP" +
               reply_text(c) + ": a security check, often after a sign-in from a new place.",
           "Sign in to the account in a browser (from this network if you can) and follow the "
           "prompts, then wait for the next probe; or use an app password or OAuth 2.0 (XOAUTH2).",
       };
     }},
    {failure_reason::auth_token_rejected, "the server refused the OAuth token it was given",
     [](const advice_context& c) -> lines {
       return {
           "The token endpoint issued an access token and the SMTP server refused it" +
               reply_text(c) + ": the token is genuine, what it may do is not enough. The detail "
               "carries the server's error challenge (status, scope).",
           "Scope: the token must be for SMTP, e.g. https://mail.google.com/ (Gmail) or "
           "https://outlook.office.com/SMTP.Send (Microsoft, delegated) or "
           "https://outlook.office365.com/.default (Microsoft, client_credentials); check "
           "`scope` in [target.auth.oauth2] and what the app registration was consented for.",
           "Microsoft 365: SMTP AUTH must be enabled for the mailbox (Set-CASMailbox -Identity "
           "<mailbox> -SmtpClientAuthenticationDisabled $false) and allowed by the tenant; with "
           "client_credentials the app needs the SMTP.SendAsApp application permission with "
           "admin consent, an Exchange service principal (New-ServicePrincipal) and FullAccess "
           "to the mailbox (Add-MailboxPermission).",
           "The username must be the mailbox the token was issued for (Google service accounts: "
           "the `sub` the token was requested for).",
       };
     }},
    {failure_reason::oauth2_token_unavailable, "no OAuth access token: the token endpoint failed",
     [](const advice_context&) -> lines {
       return {
           "The exporter could not get an access token, so nothing was sent to the SMTP server. "
           "The detail starts with the token endpoint's error class; "
           "smtp_oauth2_token_requests_total counts them.",
           "invalid_grant: the refresh token was revoked or expired (a password change, "
           "inactivity, consent withdrawn; Microsoft AADSTS700082, AADSTS70000), or a service "
           "account's assertion was refused. Consent again and replace the refresh token "
           "(`refresh_token_file`, and delete a stale `refresh_token_state_file`).",
           "invalid_client: the client secret is wrong or expired (Microsoft AADSTS7000215), or "
           "the client id is unknown. Create a new secret for the app registration and update "
           "`client_secret_file`.",
           "unauthorized_client or invalid_scope: the app may not use this grant or scope; check "
           "the app registration and `scope`.",
           "unreachable, timeout, http_error, malformed_response, redirect or body_too_large: "
           "the endpoint could not be reached or answered badly; check `token_url` (https://, "
           "the final URL: redirects are not followed), `ca_file`, and outbound HTTPS.",
       };
     }},
    {failure_reason::credentials_unavailable, "the secret could not be read here",
     [](const advice_context&) -> lines {
       return {
           "The password file or variable, or a file of [target.auth.oauth2] (client secret, "
           "refresh token, service-account key), could not be read on this machine; nothing was "
           "sent. The detail names the file or variable and the cause."};
     }},
    {failure_reason::unverified_tls_refused, "withheld: the certificate was not verified",
     [](const advice_context&) -> lines {
       return {
           "insecure_skip_verify is on and the certificate did not verify, so the exporter did not "
           "send the credentials or the envelope: anyone on the path could be the server.",
           "Fix the trust instead (`ca_file`, `server_name`); only if this is a lab server, set "
           "`allow_unverified_credentials = true`.",
       };
     }},
    {failure_reason::envelope_requires_tls, "envelope withheld: no TLS",
     [](const advice_context&) -> lines {
       return {"The envelope probe sends addresses only over TLS unless `allow_plaintext = true`."};
     }},
    {failure_reason::sender_rejected, "sender refused at MAIL FROM",
     [](const advice_context& c) -> lines {
       return {
           "The server refused the sender address" + reply_text(c) + ".",
           "Providers accept only senders the account may use (SendGrid: a verified Sender "
           "Identity; Gmail/Outlook: the authenticated address or an alias): set `mail_from` to "
           "one.",
       };
     }},
    {failure_reason::sender_tempfail, "sender deferred at MAIL FROM (4xx)",
     [](const advice_context& c) -> lines {
       return {"The server deferred the sender" + reply_text(c) +
               ": rate limiting, greylisting or a temporary policy; try again later."};
     }},
    {failure_reason::recipient_rejected, "recipient refused at RCPT TO",
     [](const advice_context& c) -> lines {
       return {
           "The server refused the recipient" + reply_text(c) + ".",
           "Check `rcpt_to` is a mailbox this account may send to; a relay refuses other domains "
           "unless authenticated.",
       };
     }},
    {failure_reason::recipient_tempfail, "recipient deferred at RCPT TO (4xx)",
     [](const advice_context& c) -> lines {
       return {"The server deferred the recipient" + reply_text(c) +
               ": greylisting, rate limiting, or this IP is not (yet) allowed; try again later."};
     }},
    {failure_reason::data_rejected, "message refused at DATA or after the body",
     [](const advice_context& c) -> lines {
       return {
           "The server refused the delivery probe's message" + reply_text(c) +
               ": the application's mail is refused the same way.",
           "5.7.26 (Gmail) / 5.7.509, 5.7.515 (Outlook): the sender domain fails SPF, DKIM or "
           "DMARC: publish SPF for this egress IP and sign with DKIM (see the sender readiness "
           "checks).",
           "5.7.1, 5.7.708, 5.7.511: content or reputation: this IP or tenant is blocked; check "
           "the block lists and the provider's postmaster tools.",
       };
     }},
    {failure_reason::data_tempfail, "message deferred at DATA or after the body (4xx)",
     [](const advice_context& c) -> lines {
       return {"The server deferred the message" + reply_text(c) +
               ": a rate limit (Gmail 4.7.28), greylisting or a temporary policy; mail is "
               "delayed, and keeps being delayed while this lasts."};
     }},
    {failure_reason::delivered_to_junk, "delivered, but to Junk",
     [](const advice_context&) -> lines {
       return {
           "The message arrived in the recipient's Junk mailbox: the application's mail is likely "
           "junked too. This usually comes weeks before outright refusals.",
           "Check the egress IP on the block lists (DNSBL checks), the sender domain's SPF, DKIM "
           "and DMARC (smtp_delivery_auth_result_info), and the provider's postmaster tools.",
       };
     }},
    {failure_reason::not_delivered, "accepted, but not delivered by the deadline",
     [](const advice_context&) -> lines {
       return {
           "The server accepted the message with 250, but it was not in the Inbox or Junk by "
           "the deadline: delayed in a queue, quarantined, or dropped.",
           "Look for it later (a late message is deleted at the next run) and in the provider's "
           "quarantine; a longer `deadline` tells slow from lost.",
       };
     }},
    {failure_reason::imap_connect_failed, "read-back: IMAP connection failed (delivery unknown)",
     [](const advice_context&) -> lines {
       return {"The exporter could not connect to the IMAP server of [target.delivery.imap]: "
               "whether the message arrived is unknown, not \"not delivered\"."};
     }},
    {failure_reason::imap_connect_timeout, "read-back: IMAP connection timed out (delivery unknown)",
     [](const advice_context&) -> lines {
       return {"No answer from the IMAP server (a firewall dropping 993/143?): delivery unknown."};
     }},
    {failure_reason::imap_tls_certificate,
     "read-back: the IMAP server's certificate did not verify (delivery unknown)",
     [](const advice_context&) -> lines {
       return {"Fix the IMAP trust (`ca_file`, `server_name` in [target.delivery.imap])."};
     }},
    {failure_reason::imap_tls_failed, "read-back: IMAP TLS failed (delivery unknown)",
     [](const advice_context&) -> lines {
       return {"The IMAP TLS handshake (or STARTTLS) failed: check `tls` and `port` of "
               "[target.delivery.imap]."};
     }},
    {failure_reason::imap_auth_rejected, "read-back: IMAP login refused (delivery unknown)",
     [](const advice_context&) -> lines {
       return {"The mailbox refused the exporter's IMAP login: fix [target.delivery.imap.auth] "
               "(many providers need an app password or OAuth 2.0 for IMAP too)."};
     }},
    {failure_reason::imap_protocol_error, "read-back: IMAP error (delivery unknown)",
     [](const advice_context&) -> lines {
       return {"The IMAP server answered NO/BAD or something unreadable (a missing mailbox, no "
               "UIDPLUS): the detail says what."};
     }},
    {failure_reason::imap_timeout, "read-back: IMAP timed out (delivery unknown)",
     [](const advice_context&) -> lines {
       return {"The IMAP server stopped answering mid-way: delivery unknown."};
     }},
    {failure_reason::descriptors_exhausted,
     "this process ran out of file descriptors (not the server's fault)",
     [](const advice_context&) -> lines {
       return {"This process has no free file descriptor (RLIMIT_NOFILE, `ulimit -n`); raise the "
               "limit or probe fewer targets at once (--probe.max-in-flight)."};
     }},
};
static_assert(std::size(reason_rows) == probes::failure_reason_count,
              "every failure reason needs its row in reason_rows");
static_assert(std::ranges::all_of(std::views::iota(std::size_t{0}, std::size(reason_rows)),
                                  [](std::size_t i) {
                                    return static_cast<std::size_t>(reason_rows[i].reason) == i;
                                  }),
              "reason_rows must follow failure_reason order");

const reason_row& row_of(failure_reason r) {
  return reason_rows[static_cast<std::size_t>(r) % std::size(reason_rows)];
}

// What diagnose says of a failure in each stage: one row per stage, in stage order (the
// static_asserts refuse a stage without its row).
struct stage_row {
  probe_kind probe;
  std::string_view class_name;
  int exit_code;
};

constexpr stage_row stage_rows[] = {
    {probe_kind::banner, "smtp", 5},
    {probe_kind::tls, "tls", 6},
    {probe_kind::auth, "auth", 7},
    {probe_kind::envelope, "envelope", 8},
    {probe_kind::delivery, "delivery", 9},
};
static_assert(std::size(stage_rows) == probes::probe_kind_count,
              "every stage needs its row in stage_rows");
static_assert(std::ranges::all_of(std::views::iota(std::size_t{0}, std::size(stage_rows)),
                                  [](std::size_t i) {
                                    return static_cast<std::size_t>(stage_rows[i].probe) == i;
                                  }),
              "stage_rows must follow probe_kind order");

// Classes before any stage, then one per stage (failure_class's order).
constexpr std::size_t first_stage = static_cast<std::size_t>(failure_class::smtp);

// The reasons met before any SMTP is spoken, which no stage owns; nullopt for the others.
std::optional<failure_class> pre_stage_class(failure_reason r) {
  switch (r) {
    case failure_reason::none: return failure_class::none;
    case failure_reason::resolve_failed: return failure_class::resolve;
    case failure_reason::connect_refused:
    case failure_reason::connect_timeout:
    case failure_reason::connect_unreachable:
    case failure_reason::connect_prohibited:
    case failure_reason::descriptors_exhausted: return failure_class::connect;
    default: return std::nullopt;  // a stage's (stage_info::reasons) or a generic one
  }
}

const stage_row* stage_row_of(failure_class c) {
  const auto i = static_cast<std::size_t>(c);
  return i >= first_stage && i - first_stage < std::size(stage_rows) ? &stage_rows[i - first_stage]
                                                                     : nullptr;
}

}  // namespace

std::string_view to_string(failure_class c) {
  if (const stage_row* row = stage_row_of(c)) return row->class_name;
  switch (c) {
    case failure_class::resolve: return "resolve";
    case failure_class::connect: return "connect";
    default: return "none";
  }
}

failure_class class_of(failure_reason reason, probe_kind failed_probe) {
  if (auto c = pre_stage_class(reason)) return *c;
  return class_of_stage(probes::stage_owning(reason).value_or(failed_probe));
}

int exit_code_for(failure_class c) {
  if (const stage_row* row = stage_row_of(c)) return row->exit_code;
  switch (c) {
    case failure_class::none: return exit_code::ok;
    case failure_class::resolve: return exit_code::resolve;
    case failure_class::connect: return exit_code::connect;
    default: return exit_code::internal_error;
  }
}

std::string_view headline(failure_reason reason) { return row_of(reason).headline; }

std::vector<std::string> advice_for(const advice_context& c) {
  std::vector<std::string> out = row_of(c.reason).advice(c);
  if (c.policy_rejected && c.reason != failure_reason::banner_rejected) {
    // The seed's warning: a telnet from your own computer proves nothing about this machine's IP.
    out.insert(out.begin(),
               {"This is a policy refusal of this client" + reply_text(c) +
                    ", not a protocol error: the sending IP may be blacklisted, or the account or "
                    "sender not allowed. The provider's text (in the detail line) usually names "
                    "the list or the rule.",
                "A test from your own computer does not clear this machine: its public IP is "
                "another one. Look the egress IP up on the list named and ask for delisting, or "
                "send through another IP or relay."});
  }
  return out;
}

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace smtp_exporter::exporter
