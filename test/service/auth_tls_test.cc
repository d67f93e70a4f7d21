// Issue 7, access: optional bearer-token authentication (--auth-token-file, rotation without a
// restart) and optional TLS (--tls-cert-file/--tls-key-file), over real HTTP(S) on loopback.
#include <catch2/catch.hpp>

#include <openssl/ssl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "drain_service.h"
#include "test_database.h"

using namespace dbos_drain::servicetest;
using dbos_drain::testing::AgoMs;
using dbos_drain::testing::ProcessResult;
using dbos_drain::testing::RunDrain;
using dbos_drain::testing::RunProcess;
using dbos_drain::testing::TestDatabase;
using dbos_drain::testing::Workflow;

namespace {

struct Drained {
  TestDatabase db;
  Drained() {
    db.InsertVersion("v1", AgoMs(std::chrono::hours(2)));
    db.InsertVersion("v2", AgoMs(std::chrono::hours(1)));
    db.InsertWorkflow(Workflow("PENDING").Version("v2"));
    db.InsertWorkflow(Workflow("SUCCESS").Version("v1"));
  }
};

RequestOptions Bearer(const std::string& header_value) {
  RequestOptions o;
  o.headers.push_back({"Authorization", header_value});
  return o;
}

}  // namespace

TEST_CASE("auth: protected routes need the bearer token; probes and Flagger stay open", "[service][auth]") {
  Drained fx;
  TempDir dir;
  dir.Write("token", "s3cret-token\n");  // a trailing newline, as `kubectl create secret --from-file` keeps it
  ServeConfig cfg = Config(fx.db.url());
  cfg.extra_args = {"--auth-token-file", dir.File("token")};
  DrainService svc(cfg);

  for (const std::string& target : std::vector<std::string>{"/v1/versions", "/v1/versions/v1", "/v1/queues/tasks", "/metrics"}) {
    {
      INFO("protected " << target);
      for (const auto& bad : std::vector<std::string>{"", "Bearer", "Bearer ", "Bearer wrong", "Bearer s3cret-token2",
                                                      "Bearer s3cret-toke", "Basic czNjcmV0LXRva2Vu", "s3cret-token",
                                                      "Bearer  s3cret-tokenX"}) {
        HttpReply r = bad.empty() ? svc.Get(target) : svc.Get(target, Bearer(bad));
        INFO("Authorization: " << bad << " -> " << r.Describe());
        CHECK(IsJsonError(r, 401, "unauthorized"));
        CHECK_THAT(r.Header("www-authenticate"), Catch::StartsWith("Bearer"));
        CHECK(r.body.find("in_flight") == std::string::npos);
      }
      for (const auto& good : {"Bearer s3cret-token", "bearer s3cret-token", "BEARER s3cret-token"}) {
        HttpReply r = svc.Get(target, Bearer(good));
        INFO("Authorization: " << good << " -> " << r.Describe());
        CHECK(r.status != 401);
      }
    }
  }
  HttpReply v1 = svc.Get("/v1/versions/v1", Bearer("Bearer s3cret-token"));
  INFO(v1.Describe());
  CHECK(IsDrainedTrue(v1));

  // Open without a token: the kubelet's probes, and Flagger's webhook (Flagger cannot send headers).
  CHECK(svc.Get("/healthz").status == 200);
  CHECK(svc.Get("/readyz").status == 200);
  RequestOptions flagger;
  flagger.headers.push_back({"Content-Type", "application/json"});
  flagger.body = R"({"name":"app","namespace":"ns","phase":"Promoting","metadata":{}})";
  HttpReply f = svc.Request("POST", "/v1/flagger/confirm-promotion", flagger);
  INFO(f.Describe());
  CHECK(f.status != 401);
  // Unknown routes are 404 with or without a token: nothing to learn there.
  CHECK(IsJsonError(svc.Get("/v1/secret"), 404, "not_found"));
}

TEST_CASE("auth: a rotated token file is picked up without a restart", "[service][auth]") {
  Drained fx;
  TempDir dir;
  // The Kubernetes layout: token -> ..data/token, ..data -> a timestamped directory, swapped atomically.
  REQUIRE(mkdir(dir.File("gen1").c_str(), 0700) == 0);
  dir.Write("gen1/token", "first-token");
  REQUIRE(symlink("gen1", dir.File("..data").c_str()) == 0);
  REQUIRE(symlink("..data/token", dir.File("token").c_str()) == 0);
  ServeConfig cfg = Config(fx.db.url());
  cfg.extra_args = {"--auth-token-file", dir.File("token")};
  DrainService svc(cfg);
  auto status_with = [&](const std::string& token) { return svc.Get("/v1/versions/v1", Bearer("Bearer " + token)).status; };
  REQUIRE(status_with("first-token") == 200);

  SECTION("Secret-style symlink swap to a token of the same length") {
    REQUIRE(mkdir(dir.File("gen2").c_str(), 0700) == 0);
    dir.Write("gen2/token", "other-token");  // same size as before
    REQUIRE(symlink("gen2", dir.File("..data_tmp").c_str()) == 0);
    REQUIRE(std::rename(dir.File("..data_tmp").c_str(), dir.File("..data").c_str()) == 0);
    const auto t0 = Clock::now();
    CHECK(dbos_drain::testing::WaitUntil([&] { return status_with("other-token") == 200; }, seconds(3)));
    CHECK(Since(t0) < milliseconds(1500));
    CHECK(status_with("first-token") == 401);
  }
  SECTION("rewritten in place") {
    dir.Write("gen1/token", "second-token-longer\n");
    CHECK(dbos_drain::testing::WaitUntil([&] { return status_with("second-token-longer") == 200; }, seconds(3)));
    CHECK(status_with("first-token") == 401);
  }
  SECTION("a file that is briefly missing or empty keeps the last token") {
    REQUIRE(unlink(dir.File("token").c_str()) == 0);
    std::this_thread::sleep_for(milliseconds(700));
    CHECK(status_with("first-token") == 200);
    CHECK(status_with("") == 401);
    REQUIRE(symlink("..data/token", dir.File("token").c_str()) == 0);
    dir.Write("gen1/token", "   \n");
    std::this_thread::sleep_for(milliseconds(700));
    CHECK(status_with("first-token") == 200);
  }
}

TEST_CASE("auth: a missing or empty token file stops the start with a clear error", "[service][auth]") {
  TempDir dir;
  dir.Write("empty", "\n");
  for (const std::string& path : std::vector<std::string>{dir.File("missing"), dir.File("empty")}) {
    ProcessResult r = RunDrain({"serve", "--listen", "http://127.0.0.1:" + std::to_string(dbos_drain::testing::FreeLoopbackPort()),
                                "--database-url", "postgresql://u@127.0.0.1:1/x", "--auth-token-file", path});
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--auth-token-file") && Catch::Contains(path));
  }
}

namespace {

// A self-signed certificate for 127.0.0.1 and localhost, made with the openssl command.
struct SelfSigned {
  TempDir dir;
  std::string cert, key;
  explicit SelfSigned(const std::string& cn = "localhost") {
    cert = dir.File("cert.pem");
    key = dir.File("key.pem");
    ProcessResult r = RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                  "-subj", "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                                  "-keyout", key, "-out", cert});
    INFO(r.Describe());
    REQUIRE(r.exit_code == 0);
  }
};

}  // namespace

TEST_CASE("tls: serve over https with --tls-cert-file/--tls-key-file", "[service][tls]") {
  Drained fx;
  SelfSigned pki;
  ServeConfig cfg = Config(fx.db.url());
  cfg.https = true;
  cfg.extra_args = {"--tls-cert-file", pki.cert, "--tls-key-file", pki.key};
  DrainService svc(cfg);
  RequestOptions tls;
  tls.tls = TlsClient{pki.cert};

  HttpReply r;
  REQUIRE(dbos_drain::testing::WaitUntil([&] { return (r = svc.Get("/readyz", tls)).status == 200; }, seconds(10)));
  r = svc.Get("/v1/versions/v1", tls);
  INFO(r.Describe());
  CHECK(IsDrainedTrue(r));
  CHECK(svc.Get("/v1/versions/v2", tls).Json().at("drained") == false);
  CHECK(IsJsonError(svc.Get("/nope", tls), 404, "not_found"));

  SECTION("the certificate is checked by the client: a different CA fails") {
    SelfSigned other;
    RequestOptions wrong;
    wrong.tls = TlsClient{other.cert};
    HttpReply w = svc.Get("/healthz", wrong);
    INFO(w.Describe());
    CHECK(w.status == 0);
    CHECK_THAT(w.error, Catch::Contains("TLS handshake failed"));
  }
  SECTION("plain HTTP on the https port gets no HTTP answer") {
    HttpReply plain = svc.Get("/v1/versions/v1", WithTimeout(seconds(3)));
    INFO(plain.Describe());
    CHECK(plain.status == 0);
  }
  SECTION("TLS 1.1 and older are refused") {
    RequestOptions old = tls;
    old.tls->max_version = TLS1_1_VERSION;
    HttpReply o = svc.Get("/healthz", old);
    INFO(o.Describe());
    CHECK(o.status == 0);
  }
  SECTION("TLS 1.2 takes forward-secret AEAD suites only (issue 23)") {
    // Without forward secrecy (RSA key exchange), or CBC with SHA-1: refused.
    for (const char* weak : {"AES128-SHA", "AES256-GCM-SHA384", "AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA",
                             "ECDHE-RSA-AES256-SHA384", "DHE-RSA-AES128-SHA"}) {
      RequestOptions o = tls;
      o.tls->ciphers = weak;
      HttpReply w = svc.Get("/healthz", o);
      INFO(weak << ": " << w.Describe());
      CHECK(w.status == 0);
      CHECK_THAT(w.error, Catch::Contains("TLS handshake failed"));
    }
    for (const char* strong : {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"}) {
      RequestOptions o = tls;
      o.tls->ciphers = strong;
      HttpReply ok = svc.Get("/healthz", o);
      INFO(strong << ": " << ok.Describe());
      CHECK(ok.status == 200);
    }
    CHECK(svc.Get("/healthz", tls).status == 200);  // TLS 1.3, OpenSSL's default suites
  }
  SECTION("TLS and a bearer token together") {
    // (separate service: the flags combine)
    TempDir tok;
    tok.Write("token", "t0ken");
    ServeConfig both = cfg;
    both.extra_args.push_back("--auth-token-file");
    both.extra_args.push_back(tok.File("token"));
    DrainService svc2(both);
    REQUIRE(dbos_drain::testing::WaitUntil([&] { return svc2.Get("/readyz", tls).status == 200; }, seconds(10)));
    CHECK(svc2.Get("/v1/versions/v1", tls).status == 401);
    RequestOptions with = tls;
    with.headers.push_back({"Authorization", "Bearer t0ken"});
    CHECK(IsDrainedTrue(svc2.Get("/v1/versions/v1", with)));
  }
}

TEST_CASE("tls: unusable certificate or key files stop the start with a clear error", "[service][tls]") {
  SelfSigned a;
  SelfSigned b("other");
  TempDir dir;
  dir.Write("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  struct Case {
    std::string name, cert, key, expect;
  };
  for (const Case& c : std::vector<Case>{{"missing key", a.cert, dir.File("nope.pem"), "cannot read"},
                                         {"missing cert", dir.File("nope.pem"), a.key, "cannot read"},
                                         {"garbage cert", dir.File("garbage.pem"), a.key, "--tls-cert-file"},
                                         {"key of another certificate", a.cert, b.key, "--tls-key-file"}}) {
    DYNAMIC_SECTION(c.name) {
      const int port = dbos_drain::testing::FreeLoopbackPort();
      ProcessResult r = RunDrain({"serve", "--listen", "https://127.0.0.1:" + std::to_string(port), "--database-url",
                                  "postgresql://u@127.0.0.1:1/x", "--tls-cert-file", c.cert, "--tls-key-file", c.key});
      INFO(r.Describe());
      CHECK(r.exit_code == 2);
      CHECK_THAT(r.err, Catch::Contains(c.expect));
    }
  }
  SECTION("TLS flags need an https listen address and each other") {
    ProcessResult r = RunDrain({"serve", "--listen", "http://127.0.0.1:1", "--database-url", "postgresql://u@127.0.0.1:1/x",
                                "--tls-cert-file", a.cert, "--tls-key-file", a.key});
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    ProcessResult half = RunDrain({"serve", "--listen", "https://127.0.0.1:1", "--database-url",
                                   "postgresql://u@127.0.0.1:1/x", "--tls-cert-file", a.cert});
    INFO(half.Describe());
    CHECK(half.exit_code == 2);
  }
}
