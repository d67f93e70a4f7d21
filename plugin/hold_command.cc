// dbos-drain hold: a pod's preStop hold for images that ship the binary. Long-polls a serve's
// GET /v1/hold (docs/guards.md, "The pod hold") until it answers 200, then exits 0. Everything else (409
// bound passed, 503, 401, a refused connection, a timeout) means "ask again": a preStop that
// returns lets the kubelet stop the container, so the hold fails closed and only --timeout (or the
// grace period's SIGKILL) ends it otherwise. The HTTP client is cpprest's.
#include <cpprest/http_client.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli_options.h"
#include "commands.h"
#include "drain_error.h"
#include "duration.h"
#include "hold_rule.h"
#include "names.h"

namespace po = boost::program_options;

namespace dbos_drain::cli {
namespace {

std::atomic<int> g_hold_signal{0};
extern "C" void OnHoldSignal(int sig) { g_hold_signal.store(sig); }

std::string EnvOr(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The flag, else the environment variable a pod already has.
std::string FlagOrEnv(const po::variables_map& vm, const char* flag, const char* env) {
  std::string v = vm.count(flag) ? vm[flag].as<std::string>() : EnvOr(env);
  if (v.empty()) {
    throw DrainError(ErrorCode::kConfig, std::string("--") + flag + " is required (or set " + env + ")");
  }
  return v;
}

// One status line for the log: "409 own_pending: 2 PENDING workflow(s) ..." or the error.
std::string Describe(const web::http::http_response& response) {
  std::string line = std::to_string(response.status_code());
  try {
    const auto body = response.extract_json().get();
    if (body.has_field(U("code"))) line += " " + utility::conversions::to_utf8string(body.at(U("code")).as_string());
    if (body.has_field(U("message"))) line += ": " + utility::conversions::to_utf8string(body.at(U("message")).as_string());
    if (body.has_field(U("error"))) line += " " + utility::conversions::to_utf8string(body.at(U("error")).serialize());
  } catch (const std::exception&) {
  }
  return line;
}

}  // namespace

int RunHold(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()
      ("server", po::value<std::string>()->value_name("URL"), "dbos-drain serve, e.g. http://dbos-drain.dbos-drain:8080 (default: $DBOS_DRAIN_URL)")
      ("version", po::value<std::string>()->value_name("V"), "this pod's application version (default: $DBOS__APPVERSION)")
      ("executor", po::value<std::string>()->value_name("E"), "this pod's executor id (default: $DBOS__VMID)")
      ("timeout", po::value<std::string>()->value_name("DURATION"),
       "give up after this long (exit 1); default: never (the grace period ends it)")
      ("poll-bound", po::value<std::string>()->default_value("50s")->value_name("DURATION"),
       "the bound of each long poll (the server caps it at 60s)")
      ("token-file", po::value<std::string>()->value_name("PATH"), "a bearer token for serve --auth-token-file (default: $DBOS_DRAIN_TOKEN)");
  po::variables_map vm;
  if (!ParseCommandLine(argc, argv, opts, po::options_description(), nullptr, vm,
                        "Usage: dbos-drain hold [--server URL] [--version V] [--executor E] [--timeout DURATION] [options]\n\n"
                        "A pod's preStop hold: waits until dbos-drain serve says this pod may stop (its executor\n"
                        "has no PENDING work of its version, and its version's queued work has another live worker).\n"
                        "Exit status: 0 released, 1 --timeout passed, 2 configuration error; 130/143 on SIGINT/SIGTERM.")) {
    return kExitDrained;
  }
  const std::string server = FlagOrEnv(vm, "server", "DBOS_DRAIN_URL");
  const std::string version = FlagOrEnv(vm, "version", "DBOS__APPVERSION");
  const std::string executor = FlagOrEnv(vm, "executor", "DBOS__VMID");
  if (auto why = CheckName(version, "version"); !why.empty()) throw DrainError(ErrorCode::kConfig, why);
  if (auto why = CheckName(executor, "executor"); !why.empty()) throw DrainError(ErrorCode::kConfig, why);
  const auto timeout = vm.count("timeout") ? DurationFlag(vm, "timeout") : std::chrono::milliseconds(0);
  const auto bound = std::chrono::duration_cast<std::chrono::seconds>(DurationFlag(vm, "poll-bound"));
  std::string token = EnvOr("DBOS_DRAIN_TOKEN");
  if (vm.count("token-file")) {
    std::ifstream in(vm["token-file"].as<std::string>());
    if (!in) throw DrainError(ErrorCode::kConfig, "cannot read --token-file " + vm["token-file"].as<std::string>());
    std::getline(in, token);
  }

  web::uri base;
  try {
    base = web::uri(utility::conversions::to_string_t(server));
  } catch (const std::exception&) {
    throw DrainError(ErrorCode::kConfig, "invalid --server \"" + server + "\": expected http://HOST:PORT");
  }
  if (base.scheme() != U("http") && base.scheme() != U("https")) {
    throw DrainError(ErrorCode::kConfig, "invalid --server \"" + server + "\": expected http(s)://HOST:PORT");
  }
  web::http::client::http_client_config config;
  config.set_timeout(bound + std::chrono::seconds(15));  // the server answers at the bound
  web::http::client::http_client client(base, config);
  web::uri_builder target(U("/v1/hold"));
  target.append_query(U("version"), utility::conversions::to_string_t(version));
  target.append_query(U("executor"), utility::conversions::to_string_t(executor));
  target.append_query(U("timeout"), std::to_string(std::max<int64_t>(1, bound.count())));
  const auto path = target.to_string();

  std::signal(SIGINT, OnHoldSignal);
  std::signal(SIGTERM, OnHoldSignal);
  const auto start = std::chrono::steady_clock::now();
  std::string last;
  while (true) {
    std::string line;
    web::http::http_request request(web::http::methods::GET);
    request.set_request_uri(path);
    if (!token.empty()) request.headers().add(U("Authorization"), U("Bearer ") + utility::conversions::to_string_t(token));
    try {
      auto response = client.request(request).get();
      if (response.status_code() == web::http::status_codes::OK) {
        std::cout << "released: " << Describe(response) << std::endl;
        return kExitDrained;
      }
      line = "held: " + Describe(response);
    } catch (const std::exception& e) {
      line = std::string("held: no answer from ") + server + ": " + e.what();
    }
    if (line != last) std::cout << line << std::endl;
    last = line;
    // Ask again after 1 s (the server answered at once: an error, a restart), waking for signals.
    for (int i = 0; i < 20 && g_hold_signal.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (int sig = g_hold_signal.load()) {
      std::cerr << "dbos-drain: hold interrupted by signal " << sig << std::endl;
      return 128 + sig;
    }
    if (timeout.count() > 0 && std::chrono::steady_clock::now() - start >= timeout) {
      std::cerr << "dbos-drain: hold timed out after " << FormatDuration(timeout) << ": " << last << std::endl;
      return kExitNotDrained;
    }
  }
}

}  // namespace dbos_drain::cli
