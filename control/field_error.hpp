// A rejected input, naming the field it is about: "filters[0].destinationPorts[1]" for
// a request body, "ports[1].rx_queues" for the config. REST turns it into
// {"error":{"code","message","target"}} with status 400; trawld into a message and a
// non-zero exit.
#pragma once

#include <stdexcept>
#include <string>

namespace trawl::control {

class FieldError : public std::runtime_error {
public:
    FieldError(std::string target, const std::string& message)
        : std::runtime_error(target.empty() ? message : target + ": " + message),
          target_(std::move(target)),
          message_(message) {}
    const std::string& target() const { return target_; }
    const std::string& message() const { return message_; }

private:
    std::string target_;
    std::string message_;
};

// "filters" + 0 → "filters[0]"; "filters[0]" + "sourcePorts" → "filters[0].sourcePorts".
inline std::string field_path(const std::string& parent, const std::string& child) {
    return parent.empty() ? child : parent + "." + child;
}
inline std::string field_path(const std::string& parent, size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

}  // namespace trawl::control
