#include "control/analysis/geoip.hpp"

#include <GeoIP.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

namespace trawl::analysis {
namespace {

bool in_v4(uint32_t a, uint32_t network, unsigned prefix) {
    const uint32_t mask = prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix);
    return (a & mask) == network;
}

AddressScope scope_v4(const uint8_t* p) {
    const uint32_t a = uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
    if (a == 0xffffffffu) return AddressScope::Broadcast;
    if (in_v4(a, 0x0a000000, 8) || in_v4(a, 0xac100000, 12) || in_v4(a, 0xc0a80000, 16) ||
        in_v4(a, 0x64400000, 10))
        return AddressScope::Private;
    if (in_v4(a, 0x7f000000, 8)) return AddressScope::Loopback;
    if (in_v4(a, 0xa9fe0000, 16)) return AddressScope::LinkLocal;
    if (in_v4(a, 0xe0000000, 4)) return AddressScope::Multicast;
    if (in_v4(a, 0x00000000, 8) || in_v4(a, 0xc0000000, 24) || in_v4(a, 0xc0000200, 24) ||
        in_v4(a, 0xc6336400, 24) || in_v4(a, 0xcb007100, 24) || in_v4(a, 0xc6120000, 15) ||
        in_v4(a, 0xf0000000, 4))
        return AddressScope::Reserved;
    return AddressScope::Public;
}

// Year-month-day of the first 8-digit word of GeoIP_database_info ("GEO-106FREE 20191224
// Build 1 ...").
std::string date_of(const std::string& info) {
    for (size_t i = 0; i + 8 <= info.size(); ++i) {
        bool digits = (i == 0 || info[i - 1] == ' ') && (i + 8 == info.size() || info[i + 8] == ' ');
        for (size_t k = 0; digits && k < 8; ++k) digits = info[i + k] >= '0' && info[i + k] <= '9';
        if (digits) return info.substr(i, 4) + "-" + info.substr(i + 4, 2) + "-" + info.substr(i + 6, 2);
    }
    return "";
}

// The installed version of Debian's geoip-database ("20230203+really20191224-0+deb12u1")
// from dpkg's status file, or "". The files' own header carries the date they were
// rebuilt by the package, not the date of the data; the version says which data it is.
std::string debian_package_version() {
    std::ifstream in("/var/lib/dpkg/status");
    std::string line;
    bool in_package = false;
    while (std::getline(in, line)) {
        if (line.rfind("Package: ", 0) == 0) in_package = line == "Package: geoip-database";
        else if (in_package && line.rfind("Version: ", 0) == 0) return line.substr(9);
    }
    return "";
}

// "2019-12-24" from "20230203+really20191224-0+deb12u1" (the data behind "really"), or
// from a plain "20191224-1".
std::string date_of_version(const std::string& version) {
    const size_t really = version.find("really");
    const std::string digits = version.substr(really == std::string::npos ? 0 : really + 6, 8);
    if (digits.size() != 8 || digits.find_first_not_of("0123456789") != std::string::npos) return "";
    return digits.substr(0, 4) + "-" + digits.substr(4, 2) + "-" + digits.substr(6, 2);
}

GeoIPTag* open_database(const std::string& path) {
    // GEOIP_SILENCE: a missing file is reported by note(), not printed by the library.
    return GeoIP_open(path.c_str(), GEOIP_MEMORY_CACHE | GEOIP_SILENCE);
}

}  // namespace

AddressScope address_scope(unsigned family, const uint8_t* p) {
    if (family == 4) return scope_v4(p);
    static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(p, mapped_prefix, 12) == 0) return scope_v4(p + 12);
    bool zero_prefix = true;
    for (int i = 0; i < 15; ++i) zero_prefix = zero_prefix && p[i] == 0;
    if (zero_prefix && p[15] == 1) return AddressScope::Loopback;
    if (zero_prefix && p[15] == 0) return AddressScope::Reserved;  // ::
    if ((p[0] & 0xfe) == 0xfc) return AddressScope::Private;      // fc00::/7
    if (p[0] == 0xfe && (p[1] & 0xc0) == 0x80) return AddressScope::LinkLocal;  // fe80::/10
    if (p[0] == 0xff) return AddressScope::Multicast;
    if (p[0] == 0x20 && p[1] == 0x01 && p[2] == 0x0d && p[3] == 0xb8) return AddressScope::Reserved;  // 2001:db8::/32
    return AddressScope::Public;
}

const char* scope_label(AddressScope scope) {
    switch (scope) {
    case AddressScope::Public: return "";
    case AddressScope::Private: return "private";
    case AddressScope::Loopback: return "loopback";
    case AddressScope::LinkLocal: return "link-local";
    case AddressScope::Multicast: return "multicast";
    case AddressScope::Broadcast: return "broadcast";
    case AddressScope::Reserved: return "reserved";
    }
    return "";
}

GeoIp::GeoIp(const std::string& directory) {
    v4_ = open_database(directory + "/GeoIP.dat");
    v6_ = open_database(directory + "/GeoIPv6.dat");
    if (v4_) {
        if (char* info = GeoIP_database_info(v4_)) {
            database_ = info;
            std::free(info);
        }
        package_version_ = debian_package_version();
        data_date_ = date_of_version(package_version_);
        if (data_date_.empty()) data_date_ = date_of(database_);
    }
    if (!v4_ && !v6_) {
        note_ = "no GeoIP country database in " + directory +
                " (install Debian's geoip-database): public addresses show as unknown";
    } else {
        note_ = "country data is old: GeoLite Country data of " + (data_date_.empty() ? "unknown date" : data_date_) +
                " (Debian geoip-database" + (package_version_.empty() ? "" : " " + package_version_) +
                "), no longer updated; addresses may have moved to other countries since";
        if (!v6_) note_ += "; no IPv6 database, public IPv6 addresses show as unknown";
    }
}

GeoIp::~GeoIp() {
    if (v4_) GeoIP_delete(v4_);
    if (v6_) GeoIP_delete(v6_);
}

const GeoIp& GeoIp::shared() {
    static const GeoIp instance([] {
        const char* dir = std::getenv("TRAWL_GEOIP_DIR");
        return std::string(dir && *dir ? dir : kDefaultDirectory);
    }());
    return instance;
}

Country GeoIp::country(unsigned family, const uint8_t* address) const {
    const AddressScope scope = address_scope(family, address);
    switch (scope) {
    case AddressScope::Public: break;
    case AddressScope::Private: return {"private", "private network"};
    case AddressScope::Loopback: return {"loopback", "loopback"};
    case AddressScope::LinkLocal: return {"link-local", "link-local"};
    case AddressScope::Multicast: return {"multicast", "multicast"};
    case AddressScope::Broadcast: return {"broadcast", "broadcast"};
    case AddressScope::Reserved: return {"reserved", "reserved range"};
    }
    // The _gl variants keep lookup state on the caller's stack: concurrent lookups on a
    // memory-cached database are safe.
    GeoIPLookup gl{};
    int id = 0;
    if (family == 4 && v4_) {
        const unsigned long ipnum = uint32_t(address[0]) << 24 | uint32_t(address[1]) << 16 |
                                    uint32_t(address[2]) << 8 | address[3];
        id = GeoIP_id_by_ipnum_gl(v4_, ipnum, &gl);
    } else if (family == 6 && v6_) {
        geoipv6_t a;
        std::memcpy(&a, address, 16);
        id = GeoIP_id_by_ipnum_v6_gl(v6_, a, &gl);
    }
    if (id <= 0) return {"unknown", "unknown"};
    const char* code = GeoIP_code_by_id(id);
    const char* name = GeoIP_name_by_id(id);
    if (!code || !*code || std::strcmp(code, "--") == 0) return {"unknown", "unknown"};
    return {code, name ? name : code};
}

}  // namespace trawl::analysis
