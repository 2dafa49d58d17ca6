// Country of an IP address, from Debian's geoip-database (MaxMind's legacy GeoLite
// Country files read with libGeoIP). Debian 12 ships the data of 2019-12-24 (package
// 20230203+really20191224) and it is no longer updated: every place that shows a country
// also shows the date of the data and says that it is old.
//
// Addresses that are not on the public Internet are labelled by their scope instead of
// being looked up: "private" (RFC 1918, shared 100.64/10, IPv6 ULA fc00::/7),
// "loopback", "link-local", "multicast", "broadcast", "reserved" (this-network,
// documentation, benchmarking, 240/4, ::). A public address the database does not know
// is "unknown".
#pragma once

#include <cstdint>
#include <string>

struct GeoIPTag;

namespace trawl::analysis {

enum class AddressScope { Public, Private, Loopback, LinkLocal, Multicast, Broadcast, Reserved };

// `address`: 4 bytes for IPv4, 16 for IPv6 (network order). IPv4-mapped IPv6
// (::ffff:a.b.c.d) takes the scope of its IPv4 address.
AddressScope address_scope(unsigned family, const uint8_t* address);
const char* scope_label(AddressScope scope);  // "private", ...; "" for Public

struct Country {
    std::string code;  // ISO 3166 alpha-2 ("DE"), a scope label, or "unknown"
    std::string name;  // "Germany", or a description of the label
};

class GeoIp {
public:
    // Opens GeoIP.dat and GeoIPv6.dat in `directory` into memory. A missing file is not an
    // error: its family's public addresses are then "unknown" and note() says why.
    explicit GeoIp(const std::string& directory = kDefaultDirectory);
    ~GeoIp();
    GeoIp(const GeoIp&) = delete;
    GeoIp& operator=(const GeoIp&) = delete;

    // The process-wide instance over kDefaultDirectory (or $TRAWL_GEOIP_DIR), opened on
    // first use. Lookups are thread-safe.
    static const GeoIp& shared();

    Country country(unsigned family, const uint8_t* address) const;

    // "GEO-106FREE 20191224 Build 1 ..." of the IPv4 file, or "" when not installed.
    const std::string& database() const { return database_; }
    // Debian's package version, "20230203+really20191224-0+deb12u1", or "".
    const std::string& package_version() const { return package_version_; }
    // "2019-12-24": the date of the data (from the package version — the files' header
    // holds the date they were rebuilt), or "" when unknown.
    const std::string& data_date() const { return data_date_; }
    // One sentence for people: how old the data is, or that it is missing.
    const std::string& note() const { return note_; }

    static constexpr const char* kDefaultDirectory = "/usr/share/GeoIP";

private:
    GeoIPTag* v4_ = nullptr;
    GeoIPTag* v6_ = nullptr;
    std::string database_, package_version_, data_date_, note_;
};

}  // namespace trawl::analysis
