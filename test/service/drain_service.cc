#include "drain_service.h"

#include <signal.h>

#include <sstream>
#include <stdexcept>
#include <thread>

namespace dbos_drain::servicetest {

DrainService::DrainService(ServeConfig config) : config_(std::move(config)) {
  std::string last_error;
  // The port is free when chosen but may be taken before the service binds it: try again then.
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = testing::FreeLoopbackPort();
    std::vector<std::string> argv{testing::DrainBinary(), "serve",
                                  "--listen", std::string(config_.https ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_),
                                  "--refresh", config_.refresh,
                                  "--query-timeout", config_.query_timeout,
                                  "--connect-timeout", config_.connect_timeout};
    if (!config_.database_url.empty()) {
      argv.push_back("--database-url");
      argv.push_back(config_.database_url);
    }
    argv.insert(argv.end(), config_.extra_args.begin(), config_.extra_args.end());
    testing::ProcessOptions po = config_.process;
    po.timeout = seconds(60);
    process_ = std::make_unique<testing::BackgroundProcess>(argv, po);
    const bool up = testing::WaitUntil(
        [&] { return !process_->Running() || process_->StderrSoFar().find("listening") != std::string::npos; },
        seconds(15));
    if (!process_->Running()) {
      last_error = process_->Wait(seconds(1)).Describe();
      if (last_error.find("cannot listen") != std::string::npos) continue;
      throw std::runtime_error("dbos-drain serve exited at start: " + last_error);
    }
    if (!up || !testing::WaitForTcpPort(port_, seconds(5))) {
      throw std::runtime_error("dbos-drain serve did not start listening within 15 s: " + process_->StderrSoFar());
    }
    if (config_.wait_ready && !config_.https) {
      HttpReply r = PollUntil(*this, "/readyz", [](const HttpReply& r) { return r.status == 200; }, seconds(15));
      if (r.status != 200) {
        throw std::runtime_error("dbos-drain serve not ready within 15 s: " + r.Describe() + "\nlog:\n" + Stderr());
      }
    }
    return;
  }
  throw std::runtime_error("dbos-drain serve could not bind a port: " + last_error);
}

DrainService::~DrainService() = default;  // BackgroundProcess SIGKILLs a child that still runs

HttpReply DrainService::Get(const std::string& target, RequestOptions options) const {
  return servicetest::Get(port_, target, options);
}

HttpReply DrainService::Request(const std::string& method, const std::string& target, RequestOptions options) const {
  return servicetest::Request(port_, method, target, options);
}

HttpReply DrainService::Post(const std::string& target, const std::string& body, const std::string& content_type,
                             RequestOptions options) const {
  if (!content_type.empty()) options.headers.push_back({"Content-Type", content_type});
  options.body = body;
  return servicetest::Request(port_, "POST", target, options);
}

std::vector<nlohmann::json> DrainService::LogLines() const {
  std::vector<nlohmann::json> out;
  std::istringstream in(process_->StderrSoFar());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception& e) {
      throw std::runtime_error("a log line is not one JSON object (" + std::string(e.what()) + "): " + line);
    }
  }
  return out;
}

testing::ProcessResult DrainService::Stop(std::chrono::milliseconds timeout) {
  process_->Signal(SIGTERM);
  return process_->Wait(timeout);
}

HttpReply PollUntil(const DrainService& service, const std::string& target,
                    const std::function<bool(const HttpReply&)>& accept, std::chrono::milliseconds timeout,
                    std::chrono::milliseconds every) {
  const auto deadline = Clock::now() + timeout;
  HttpReply r;
  while (true) {
    RequestOptions o;
    o.timeout = std::max(milliseconds(100), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()) + seconds(3));
    r = service.Get(target, o);
    if (accept(r) || Clock::now() >= deadline) return r;
    std::this_thread::sleep_for(every);
  }
}

HttpReply PollUntil(const std::function<HttpReply()>& fetch, const std::function<bool(const HttpReply&)>& accept,
                    std::chrono::milliseconds timeout, std::chrono::milliseconds every) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    HttpReply r = fetch();
    if (accept(r) || Clock::now() >= deadline) return r;
    std::this_thread::sleep_for(every);
  }
}

std::string FirstLine(const HttpReply& r) { return r.body.substr(0, r.body.find('\n')); }

bool IsDrainedTrue(const HttpReply& r) {
  if (r.status < 200 || r.status > 299) return false;
  try {
    auto j = nlohmann::json::parse(r.body);
    return j.is_object() && j.contains("drained") && j["drained"] == true;
  } catch (...) {
    return false;
  }
}

bool IsJsonError(const HttpReply& r, int status, const std::string& code) {
  if (r.status != status) return false;
  try {
    auto j = nlohmann::json::parse(r.body);
    return j.at("drained") == false && j.at("error").at("code") == code &&
           j.at("error").at("message").is_string() && !j.at("error").at("message").get<std::string>().empty();
  } catch (...) {
    return false;
  }
}

}  // namespace dbos_drain::servicetest
