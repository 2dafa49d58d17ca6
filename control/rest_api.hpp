// Routes of DESIGN §3 → the SessionManager's action functions. A thin parser: it checks
// the shape of the request (path, method, names, JSON), never the meaning.
#pragma once

#include "control/http_server.hpp"
#include "control/metrics.hpp"
#include "control/session_manager.hpp"

namespace trawl::control {

class RestApi {
public:
    RestApi(SessionManager& sessions, Metrics& metrics) : sessions_(sessions), metrics_(metrics) {}
    HttpResponse handle(const HttpRequest& request);

private:
    HttpResponse route(const HttpRequest& request);

    SessionManager& sessions_;
    Metrics& metrics_;
};

}  // namespace trawl::control
