#include "dataplane/handoff.hpp"

#include <cstdio>

namespace trawl::dataplane {

int g_capture_tag_offset = -1;

bool register_capture_tag() {
    static const rte_mbuf_dynfield desc = {
        "trawl_capture_tag", sizeof(CaptureTag), alignof(CaptureTag), 0};
    g_capture_tag_offset = rte_mbuf_dynfield_register(&desc);
    return g_capture_tag_offset >= 0;
}

rte_ring* create_handoff_ring(unsigned worker, unsigned writer, unsigned size, int socket) {
    char name[RTE_RING_NAMESIZE];
    std::snprintf(name, sizeof name, "trawl_w%u_to_wr%u", worker, writer);
    return rte_ring_create(name, size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

}  // namespace trawl::dataplane
