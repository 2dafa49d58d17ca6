#include "control/storage/sas_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace trawl::control::storage {
namespace {

constexpr size_t kMaxUrlLength = 4096;

char lower(char c) { return char(std::tolower(static_cast<unsigned char>(c))); }

bool starts_with_nocase(std::string_view text, size_t at, std::string_view prefix) {
    if (text.size() - at < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (lower(text[at + i]) != prefix[i]) return false;
    return true;
}

bool ends_signature(char c) {
    return c == '&' || c == '"' || c == '\'' || c == '<' || c == '>' || c == ')' || c == ',' ||
           std::isspace(static_cast<unsigned char>(c));
}

std::string host_of(std::string_view authority) {
    if (!authority.empty() && authority[0] == '[') {
        const size_t close = authority.find(']');
        return std::string(authority.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
    }
    return std::string(authority.substr(0, authority.find(':')));
}

bool is_loopback_host(const std::string& host) {
    std::string h = host;
    std::transform(h.begin(), h.end(), h.begin(), lower);
    if (h == "localhost") return true;
    in_addr a4{};
    if (inet_pton(AF_INET, h.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    in6_addr a6{};
    return inet_pton(AF_INET6, h.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

// The value of the query parameter `name` (case-sensitive, as Azure reads it).
std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
    size_t pos = 0;
    while (pos <= query.size()) {
        const size_t end = std::min(query.find('&', pos), query.size());
        const std::string_view param = query.substr(pos, end - pos);
        if (param.size() > name.size() && param.substr(0, name.size()) == name && param[name.size()] == '=')
            return param.substr(name.size() + 1);
        if (param == name) return std::string_view();
        pos = end + 1;
    }
    return std::nullopt;
}

}  // namespace

std::string SasUrl::secret_url() const { return scheme + "://" + authority + path + "?" + query; }

std::string SasUrl::redacted_url() const { return redact(secret_url()); }

std::string SasUrl::blob_url(std::string_view blob_name, std::string_view extra_query) const {
    std::string url = scheme + "://" + authority + path + "/";
    url.append(blob_name);
    url += "?";
    if (!extra_query.empty()) {
        url.append(extra_query);
        url += "&";
    }
    return url + query;
}

std::string SasUrl::blob_address(std::string_view blob_name) const {
    return scheme + "://" + authority + path + "/" + std::string(blob_name);
}

std::optional<SasUrl> parse_sas_url(std::string_view text, std::string& error) {
    const std::string example =
        " (a container URL with a SAS query: https://<account>.blob.core.windows.net/<container>?sv=...&sig=...)";
    if (text.empty()) {
        error = "is empty" + example;
        return std::nullopt;
    }
    if (text.size() > kMaxUrlLength) {
        error = "is " + std::to_string(text.size()) + " characters long; the limit is " +
                std::to_string(kMaxUrlLength);
        return std::nullopt;
    }
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f) {
            error = "contains a space, a control character or a non-ASCII byte; percent-encode them";
            return std::nullopt;
        }
    }
    SasUrl url;
    const size_t colon = text.find("://");
    if (colon == std::string_view::npos) {
        error = "is not an absolute URL" + example;
        return std::nullopt;
    }
    url.scheme = std::string(text.substr(0, colon));
    std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(), lower);
    if (url.scheme != "https" && url.scheme != "http") {
        error = "must be an https:// URL" + example;
        return std::nullopt;
    }
    std::string_view rest = text.substr(colon + 3);
    if (rest.find('#') != std::string_view::npos) {
        error = "must not have a #fragment";
        return std::nullopt;
    }
    const size_t path_start = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, path_start);
    if (authority.empty()) {
        error = "has no host" + example;
        return std::nullopt;
    }
    if (authority.find('@') != std::string_view::npos) {
        error = "must not carry a user name or password before the host; the SAS query authorises";
        return std::nullopt;
    }
    url.authority = std::string(authority);
    if (url.scheme == "http" && !is_loopback_host(host_of(authority))) {
        error = "uses http://, which would send the SAS signature in clear text; use https:// "
                "(http:// is accepted only to a loopback address, for emulators such as Azurite)";
        return std::nullopt;
    }
    rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
    const size_t question = rest.find('?');
    std::string_view path = rest.substr(0, question);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (path.empty()) {
        error = "names no container: add it to the path" + example;
        return std::nullopt;
    }
    if (path.find("//") != std::string_view::npos || path.find("/./") != std::string_view::npos ||
        path.find("/../") != std::string_view::npos || path.ends_with("/.") || path.ends_with("/..")) {
        error = "has an empty, '.' or '..' segment in its path";
        return std::nullopt;
    }
    url.path = std::string(path);
    if (question == std::string_view::npos || question + 1 == rest.size()) {
        error = "has no SAS query: append the SAS token (?sv=...&sig=...) that grants create and write";
        return std::nullopt;
    }
    url.query = std::string(rest.substr(question + 1));
    const auto sig = query_value(url.query, "sig");
    if (!sig || sig->empty()) {
        error = "has a query without a SAS signature (sig=...): append the whole SAS token";
        return std::nullopt;
    }
    return url;
}

std::string redact(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        size_t key = 0;
        if (starts_with_nocase(text, i, "sig=")) key = 4;
        else if (starts_with_nocase(text, i, "sig%3d")) key = 6;  // a percent-encoded URL
        if (key == 0) {
            out += text[i++];
            continue;
        }
        out.append(text.substr(i, key));
        i += key;
        size_t end = i;
        while (end < text.size() && !ends_signature(text[end])) ++end;
        if (end > i) out += kRedacted;
        i = end;
    }
    return out;
}

}  // namespace trawl::control::storage
