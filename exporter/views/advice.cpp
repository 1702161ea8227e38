#include "exporter/views/advice.hpp"

#include <openssl/crypto.h>

namespace smtp_exporter::exporter {

using probes::failure_reason;

std::string_view to_string(failure_class c) {
  switch (c) {
    case failure_class::none: return "none";
    case failure_class::resolve: return "resolve";
    case failure_class::connect: return "connect";
    case failure_class::smtp: return "smtp";
    case failure_class::tls: return "tls";
    case failure_class::auth: return "auth";
    case failure_class::envelope: return "envelope";
  }
  return "none";
}

failure_class class_of(failure_reason reason, probes::probe_kind failed_probe) {
  switch (reason) {
    case failure_reason::none: return failure_class::none;
    case failure_reason::resolve_failed: return failure_class::resolve;
    case failure_reason::connect_refused:
    case failure_reason::connect_timeout:
    case failure_reason::connect_unreachable: return failure_class::connect;
    case failure_reason::banner_timeout:
    case failure_reason::banner_rejected:
    case failure_reason::banner_tempfail:
    case failure_reason::ehlo_rejected: return failure_class::smtp;
    case failure_reason::starttls_unsupported:
    case failure_reason::starttls_rejected:
    case failure_reason::tls_handshake_failed:
    case failure_reason::tls_timeout:
    case failure_reason::cert_expired:
    case failure_reason::cert_not_yet_valid:
    case failure_reason::cert_untrusted:
    case failure_reason::cert_hostname_mismatch: return failure_class::tls;
    case failure_reason::auth_unsupported:
    case failure_reason::auth_requires_tls:
    case failure_reason::auth_rejected:
    case failure_reason::auth_tempfail:
    case failure_reason::credentials_unavailable: return failure_class::auth;
    case failure_reason::unverified_tls_refused: return failure_class::tls;
    case failure_reason::envelope_requires_tls:
    case failure_reason::sender_rejected:
    case failure_reason::sender_tempfail:
    case failure_reason::recipient_rejected:
    case failure_reason::recipient_tempfail: return failure_class::envelope;
    case failure_reason::descriptors_exhausted: return failure_class::connect;
    case failure_reason::connection_closed:
    case failure_reason::protocol_error:
    case failure_reason::timeout: break;
  }
  switch (failed_probe) {
    case probes::probe_kind::banner: return failure_class::smtp;
    case probes::probe_kind::tls: return failure_class::tls;
    case probes::probe_kind::auth: return failure_class::auth;
    case probes::probe_kind::envelope: return failure_class::envelope;
  }
  return failure_class::smtp;
}

int exit_code_for(failure_class c) {
  switch (c) {
    case failure_class::none: return exit_code::ok;
    case failure_class::resolve: return exit_code::resolve;
    case failure_class::connect: return exit_code::connect;
    case failure_class::smtp: return exit_code::smtp;
    case failure_class::tls: return exit_code::tls;
    case failure_class::auth: return exit_code::auth;
    case failure_class::envelope: return exit_code::envelope;
  }
  return exit_code::internal_error;
}

std::string_view headline(failure_reason reason) {
  switch (reason) {
    case failure_reason::none: return "";
    case failure_reason::resolve_failed: return "DNS gave no address for the host";
    case failure_reason::connect_refused: return "refused: nothing listens, or a REJECT rule";
    case failure_reason::connect_timeout:
      return "blocked: no answer to the connection attempt (security group, firewall or provider)";
    case failure_reason::connect_unreachable: return "no route to the host";
    case failure_reason::banner_timeout: return "connected, but no greeting";
    case failure_reason::banner_rejected: return "server refuses this client: IP blacklisted?";
    case failure_reason::banner_tempfail: return "server busy or rate-limiting this IP";
    case failure_reason::ehlo_rejected: return "server refused EHLO and HELO";
    case failure_reason::connection_closed: return "server closed the connection mid-dialogue";
    case failure_reason::protocol_error: return "the reply was not SMTP";
    case failure_reason::timeout: return "the server stalled past the deadline";
    case failure_reason::starttls_unsupported: return "STARTTLS not offered";
    case failure_reason::starttls_rejected: return "STARTTLS refused";
    case failure_reason::tls_handshake_failed: return "TLS handshake failed";
    case failure_reason::tls_timeout: return "TLS stalled past the deadline";
    case failure_reason::cert_expired: return "certificate expired";
    case failure_reason::cert_not_yet_valid: return "certificate not valid yet (clock?)";
    case failure_reason::cert_untrusted:
      return "certificate not trusted by this machine's CA store";
    case failure_reason::cert_hostname_mismatch: return "certificate does not cover the host name";
    case failure_reason::auth_unsupported: return "no usable AUTH mechanism";
    case failure_reason::auth_requires_tls: return "AUTH needs TLS first";
    case failure_reason::auth_rejected: return "username or password rejected";
    case failure_reason::auth_tempfail: return "server could not check the credentials now";
    case failure_reason::credentials_unavailable: return "the secret could not be read here";
    case failure_reason::unverified_tls_refused:
      return "withheld: the certificate was not verified";
    case failure_reason::envelope_requires_tls: return "envelope withheld: no TLS";
    case failure_reason::sender_rejected: return "sender refused at MAIL FROM";
    case failure_reason::sender_tempfail: return "sender deferred at MAIL FROM (4xx)";
    case failure_reason::recipient_rejected: return "recipient refused at RCPT TO";
    case failure_reason::recipient_tempfail: return "recipient deferred at RCPT TO (4xx)";
    case failure_reason::descriptors_exhausted:
      return "this process ran out of file descriptors (not the server's fault)";
  }
  return "";
}

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

std::vector<std::string> reason_advice(const advice_context& c);

}  // namespace

std::vector<std::string> advice_for(const advice_context& c) {
  std::vector<std::string> out = reason_advice(c);
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

namespace {

std::vector<std::string> reason_advice(const advice_context& c) {
  const std::string port = port_text(c);
  const std::string where = c.host + ":" + port;
  switch (c.reason) {
    case failure_reason::none: return {};
    case failure_reason::resolve_failed:
      return {
          "Check the host name: " + c.host + (c.provider ? " (the preset's host)" : "") + ".",
          "Check that this machine resolves names at all: `getent hosts " + c.host +
              "`, /etc/resolv.conf, and that outbound DNS (port 53) is allowed.",
      };
    case failure_reason::connect_refused:
      return {
          "The host answered with a reset: nothing listens on port " + port +
              " there, or a firewall REJECT rule answers for it.",
          "Check the port: `smtp_exporter providers` lists each provider's ports.",
          "Check this machine's firewall for a REJECT rule on port " + port +
              ": `iptables -S OUTPUT`, `nft list ruleset`.",
      };
    case failure_reason::connect_timeout:
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
    case failure_reason::connect_unreachable:
      return {
          "There is no route from this machine to " + c.host +
              " (routing, VPN, or IPv6 without connectivity).",
          "Check the route to the address shown above: `ip route get ADDRESS`.",
      };
    case failure_reason::banner_timeout: {
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
          "Otherwise the server is overloaded or a tarpit, or something on the path (a transparent "
          "proxy, an antivirus' SMTP scanner) holds the connection.");
      return out;
    }
    case failure_reason::banner_rejected:
      return {
          "The server refused this client before any command, with a " +
              std::to_string(c.reply_code ? c.reply_code : 554) + " greeting.",
          "Usually this machine's public (egress) IP is on a blacklist: the greeting often names "
          "the list. Look the IP up on the blacklist named, ask for delisting, or send through "
          "another IP or relay.",
          "A telnet that succeeds from your own computer does not clear this machine: its IP is "
          "another one.",
      };
    case failure_reason::banner_tempfail:
      return {
          "The server is busy or rate-limiting this IP (a " +
              std::to_string(c.reply_code ? c.reply_code : 421) + " greeting).",
          "Try again later; if it lasts, this IP may be throttled for sending too much.",
      };
    case failure_reason::ehlo_rejected:
      return {
          "The server refused both EHLO and HELO.",
          "Some servers refuse a name that is not this machine's fully qualified DNS name: set "
          "`--ehlo-name` (or `ehlo_name` in the config) to it.",
      };
    case failure_reason::connection_closed:
      return {
          "The server closed the connection in the middle of the dialogue (see the last lines of "
          "the transcript).",
          "Servers do this to clients they refuse (a blacklisted IP, too many connections); "
          "a middlebox that inspects SMTP can do it too.",
      };
    case failure_reason::protocol_error: {
      std::vector<std::string> out{"The server's reply was not SMTP."};
      if (c.mode != config::tls_mode::implicit && implicit_port(c.port)) {
        out.push_back("Port " + port +
                      " usually speaks TLS from the first byte: try `--tls implicit`.");
      }
      out.push_back("Check that port " + port +
                    " is an SMTP port, and that no HTTP proxy or other service answers on it.");
      return out;
    }
    case failure_reason::timeout:
      return {
          "The server stopped answering before the deadline.",
          "Try a longer `--timeout` to see whether it answers at all; a server that stalls after "
          "the greeting is often throttling this IP.",
      };
    case failure_reason::starttls_unsupported:
      return {
          "The server's EHLO reply does not offer STARTTLS.",
          "Something on the path may strip it (some firewalls' and antivirus' \"SMTP inspection\" "
          "does), or the port expects TLS from the first byte (`--tls implicit`).",
      };
    case failure_reason::starttls_rejected:
      return {
          "The server refused STARTTLS" +
              (c.reply_code ? " with " + std::to_string(c.reply_code) : std::string()) +
              ": it cannot do TLS now. Try again later or another port.",
      };
    case failure_reason::tls_handshake_failed: {
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
    }
    case failure_reason::tls_timeout:
      return {
          "STARTTLS or the TLS handshake stalled past the deadline: something on the path may "
          "hold TLS traffic, or the server is overloaded.",
          openssl_line(c),
      };
    case failure_reason::cert_expired:
      return {
          "A certificate the server sent has expired (see the chain above).",
          "If the provider's certificate is fine for everyone else, this machine's clock is wrong: "
          "check `date` and NTP.",
          openssl_line(c),
      };
    case failure_reason::cert_not_yet_valid:
      return {
          "A certificate is not valid yet: this machine's clock is most likely behind. Check "
          "`date` and NTP.",
      };
    case failure_reason::cert_untrusted:
      return {
          "The certificate chain does not verify against this machine's CA store: an unknown or "
          "private CA, a self-signed certificate, or a server that sends an incomplete chain.",
          openssl_line(c),
          "Update the CA store (Debian: `apt-get install --reinstall ca-certificates && "
          "update-ca-certificates`), or give the private CA with `--ca-file` (`ca_file` in the "
          "config).",
      };
    case failure_reason::cert_hostname_mismatch:
      return {
          "The certificate does not cover " +
              (c.server_name.empty() ? c.host : c.server_name) + ".",
          "Connect by the name the provider documents rather than an IP address or alias, or set "
          "`--server-name` (`server_name` in the config) to the name the certificate covers.",
      };
    case failure_reason::auth_unsupported:
      return {
          "The server offers no AUTH mechanism the probe can use (or answered 504/534).",
          "Many servers offer AUTH only after STARTTLS; check the mechanism asked for "
          "(`--auth-mechanism`).",
      };
    case failure_reason::auth_requires_tls:
      return {
          "The server wants TLS before AUTH, or the probe refused to send the password over an "
          "unencrypted connection.",
          "Use the provider's TLS port or `--tls starttls`/`--tls implicit`.",
      };
    case failure_reason::auth_rejected: {
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
    }
    case failure_reason::auth_tempfail:
      return {"The server could not check the credentials now (4xx). Try again later."};
    case failure_reason::credentials_unavailable:
      return {"The password file or variable could not be read on this machine; nothing was sent."};
    case failure_reason::unverified_tls_refused:
      return {
          "insecure_skip_verify is on and the certificate did not verify, so the exporter did not "
          "send the credentials or the envelope: anyone on the path could be the server.",
          "Fix the trust instead (`ca_file`, `server_name`); only if this is a lab server, set "
          "`allow_unverified_credentials = true`.",
      };
    case failure_reason::envelope_requires_tls:
      return {"The envelope probe sends addresses only over TLS unless `allow_plaintext = true`."};
    case failure_reason::sender_rejected:
      return {
          "The server refused the sender address" + reply_text(c) + ".",
          "Providers accept only senders the account may use (SendGrid: a verified Sender "
          "Identity; Gmail/Outlook: the authenticated address or an alias): set `mail_from` to one.",
      };
    case failure_reason::sender_tempfail:
      return {"The server deferred the sender" + reply_text(c) +
              ": rate limiting, greylisting or a temporary policy; try again later."};
    case failure_reason::recipient_rejected:
      return {
          "The server refused the recipient" + reply_text(c) + ".",
          "Check `rcpt_to` is a mailbox this account may send to; a relay refuses other domains "
          "unless authenticated.",
      };
    case failure_reason::recipient_tempfail:
      return {"The server deferred the recipient" + reply_text(c) +
              ": greylisting, rate limiting, or this IP is not (yet) allowed; try again later."};
    case failure_reason::descriptors_exhausted:
      return {"This process has no free file descriptor (RLIMIT_NOFILE, `ulimit -n`); raise the "
              "limit or probe fewer targets at once (--probe.max-in-flight)."};
  }
  return {};
}

}  // namespace

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace smtp_exporter::exporter
