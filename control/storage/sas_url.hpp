// Upload targets as operators give them: an Azure Blob container URL with a SAS query
// ("https://acct.blob.core.windows.net/captures?sv=...&sp=cw&sig=..."). The signature is
// a bearer secret — anyone holding the URL can write (or read) the container — so it is
// kept in this one type and every text meant for people goes through redact().
//
// No libcurl and no DPDK here: the spec parser (and trawlctl, which links it) validates
// URLs with this file alone; control/storage/azure_blob.hpp does the HTTP.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace trawl::control::storage {

// What replaces the value of sig= wherever a URL is shown.
inline constexpr std::string_view kRedacted = "REDACTED";

struct SasUrl {
    std::string scheme;     // "https", or "http" for a loopback host (emulators)
    std::string authority;  // host[:port], as given
    std::string path;       // "/container", "/account/container" (path-style, Azurite)
                            // or a longer prefix; never ends with '/'
    std::string query;      // without '?'; holds sig=

    // The whole URL, signature included: only for requests and session.json.
    std::string secret_url() const;
    // The URL with sig=REDACTED: safe for logs, API responses and error messages.
    std::string redacted_url() const;
    // The URL of a blob below the container path, with the SAS query and `extra_query`
    // (e.g. "comp=block&blockid=...") appended. Secret.
    std::string blob_url(std::string_view blob_name, std::string_view extra_query = {}) const;
    // The blob's address without any query: safe to show.
    std::string blob_address(std::string_view blob_name) const;

    bool operator==(const SasUrl&) const = default;
};

// Parses and checks an upload URL: https (http only to 127.0.0.0/8, ::1 or localhost),
// a host, a container path, no user-info or fragment, printable ASCII only, and a query
// with a non-empty sig=. On failure returns nullopt and sets `error` to a sentence that
// never quotes the signature.
std::optional<SasUrl> parse_sas_url(std::string_view text, std::string& error);

// `text` with the value of every "sig=" (any case) replaced by REDACTED, up to the next
// '&', quote, whitespace or '<'. For URLs inside free text: libcurl and service messages,
// log lines.
std::string redact(std::string_view text);

}  // namespace trawl::control::storage
