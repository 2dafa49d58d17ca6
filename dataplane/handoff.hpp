// What travels from a worker to a writer: the mbuf itself (zero copy), tagged in a
// dynamic field with its wall-clock timestamp and the set of sessions it matched.
// One single-producer/single-consumer rte_ring per (worker, writer) pair, so no two
// cores ever contend on a ring; a full ring is a counted drop, never a stall.
#pragma once

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include <cstdint>
#include <string>

namespace trawl::dataplane {

struct CaptureTag {
    uint64_t timestamp_ns;
    uint64_t sessions;         // slot bits
    uint32_t interface_index;  // configured port index: the pcapng interface id
};

// Offset of CaptureTag in every mbuf; registered once by the engine.
extern int g_capture_tag_offset;

inline CaptureTag* capture_tag(rte_mbuf* m) {
    return RTE_MBUF_DYNFIELD(m, g_capture_tag_offset, CaptureTag*);
}

// Registers the dynamic field; returns false with rte_errno set on failure.
bool register_capture_tag();

// Creates the SPSC ring for (worker, writer); nullptr on failure.
rte_ring* create_handoff_ring(unsigned worker, unsigned writer, unsigned size, int socket);

}  // namespace trawl::dataplane
