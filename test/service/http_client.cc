#include "http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace dbos_drain::servicetest {
namespace {

using Clock = std::chrono::steady_clock;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Connects without blocking past the deadline; returns the fd (non-blocking) or -1 with `error`.
int ConnectLoopback(int port, Clock::time_point deadline, std::string& error) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      error = std::string("connect: ") + std::strerror(errno);
      close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int r = poll(&p, 1, RemainingMs(deadline));
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (r <= 0) {
      error = "timeout while connecting";
      close(fd);
      return -1;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0) {
      error = std::string("connect: ") + std::strerror(soerr);
      close(fd);
      return -1;
    }
  }
  return fd;
}

// A byte stream over a plain socket or TLS, every call bounded by a deadline.
class Stream {
 public:
  Stream(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}

  // Returns bytes read (>0), 0 on EOF, -1 on timeout, -2 on error.
  ssize_t Read(char* buf, size_t n, Clock::time_point deadline) {
    while (true) {
      if (ssl_) {
        int r = SSL_read(ssl_, buf, static_cast<int>(n));
        if (r > 0) return r;
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
          if (!Wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return -1;
          continue;
        }
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;  // unclean close
        return -2;
      }
      ssize_t r = ::recv(fd_, buf, n, 0);
      if (r >= 0) return r;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        if (!Wait(POLLIN, deadline)) return -1;
        continue;
      }
      return errno == ECONNRESET ? 0 : -2;
    }
  }

  bool WriteAll(const std::string& data, Clock::time_point deadline, std::string& error) {
    size_t off = 0;
    while (off < data.size()) {
      if (ssl_) {
        int r = SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
        if (r > 0) {
          off += static_cast<size_t>(r);
          continue;
        }
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
          if (!Wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
            error = "timeout while sending";
            return false;
          }
          continue;
        }
        error = "TLS write failed";
        return false;
      }
      ssize_t r = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (r > 0) {
        off += static_cast<size_t>(r);
        continue;
      }
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!Wait(POLLOUT, deadline)) {
          error = "timeout while sending";
          return false;
        }
        continue;
      }
      error = std::string("send: ") + std::strerror(errno);
      return false;
    }
    return true;
  }

  bool Wait(short events, Clock::time_point deadline) {
    pollfd p{fd_, events, 0};
    while (true) {
      int r = poll(&p, 1, RemainingMs(deadline));
      if (r > 0) return true;
      if (r == 0) return false;
      if (errno != EINTR) return false;
    }
  }

 private:
  int fd_;
  SSL* ssl_;
};

// Reads one response from `stream`; `pending` holds bytes already read past a previous response.
HttpReply ReadOne(Stream& stream, std::string& pending, Clock::time_point deadline, bool head) {
  HttpReply reply;
  std::string& buf = pending;
  char chunk[16384];
  auto fill = [&]() -> ssize_t {
    ssize_t n = stream.Read(chunk, sizeof chunk, deadline);
    if (n > 0) buf.append(chunk, static_cast<size_t>(n));
    return n;
  };
  size_t header_end;
  while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = fill();
    if (n == 0) {
      reply.error = buf.empty() ? "closed without a response" : "closed inside the response headers";
      return reply;
    }
    if (n == -1) {
      reply.error = "timeout waiting for the response headers";
      return reply;
    }
    if (n < 0) {
      reply.error = "read error";
      return reply;
    }
  }
  std::istringstream lines(buf.substr(0, header_end));
  std::string line;
  std::getline(lines, line);
  reply.status_line = Trim(line);
  {
    std::istringstream sl(reply.status_line);
    std::string version;
    sl >> version >> reply.status;
  }
  while (std::getline(lines, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = Lower(Trim(line.substr(0, colon)));
    std::string value = Trim(line.substr(colon + 1));
    if (reply.headers.count(name)) {
      reply.headers[name] += ", " + value;
    } else {
      reply.headers[name] = value;
    }
  }
  buf.erase(0, header_end + 4);
  const int status = reply.status;
  if (head || status == 204 || status == 304 || (status >= 100 && status < 200)) return reply;

  auto read_exact = [&](size_t n) -> bool {
    while (buf.size() < n) {
      ssize_t r = fill();
      if (r <= 0) return false;
    }
    return true;
  };
  if (Lower(reply.Header("transfer-encoding")).find("chunked") != std::string::npos) {
    while (true) {
      size_t eol;
      while ((eol = buf.find("\r\n")) == std::string::npos) {
        if (fill() <= 0) {
          reply.status = 0;
          reply.error = "incomplete chunked body";
          return reply;
        }
      }
      size_t size = std::stoul(buf.substr(0, eol), nullptr, 16);
      buf.erase(0, eol + 2);
      if (!read_exact(size + 2)) {
        reply.status = 0;
        reply.error = "incomplete chunked body";
        return reply;
      }
      reply.body += buf.substr(0, size);
      buf.erase(0, size + 2);
      if (size == 0) break;
    }
    return reply;
  }
  if (reply.HasHeader("content-length")) {
    size_t n = std::stoul(reply.Header("content-length"));
    if (!read_exact(n)) {
      reply.status = 0;
      reply.error = "incomplete body (" + std::to_string(buf.size()) + " of " + std::to_string(n) + " bytes)";
      return reply;
    }
    reply.body = buf.substr(0, n);
    buf.erase(0, n);
    return reply;
  }
  // Neither: the body runs to the end of the connection.
  while (true) {
    ssize_t r = fill();
    if (r == 0) break;
    if (r < 0) {
      reply.status = 0;
      reply.error = "timeout reading a body without length";
      return reply;
    }
  }
  reply.body = buf;
  buf.clear();
  return reply;
}

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};

}  // namespace

std::string HttpReply::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

nlohmann::json HttpReply::Json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("response body is not JSON (") + e.what() + "): " + Describe());
  }
}

std::string HttpReply::Describe() const {
  std::ostringstream s;
  if (status == 0) {
    s << "no response (" << error << ")";
  } else {
    s << status;
  }
  s << " after " << elapsed.count() << " ms";
  for (const auto& [k, v] : headers) s << "\n  " << k << ": " << v;
  s << "\n  body: " << (body.size() > 2000 ? body.substr(0, 2000) + "..." : body);
  return s.str();
}

HttpReply Exchange(int port, const std::string& raw, const RequestOptions& options, bool head) {
  const auto start = Clock::now();
  const auto deadline = start + options.timeout;
  HttpReply reply;
  auto done = [&](HttpReply r) {
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return r;
  };
  std::string error;
  int fd = ConnectLoopback(port, deadline, error);
  if (fd < 0) {
    reply.error = error;
    return done(reply);
  }
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx;
  std::unique_ptr<SSL, SslDeleter> ssl;
  if (options.tls) {
    ctx.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (options.tls->max_version) {
      // Let the client offer old protocols at all (OpenSSL 3 refuses them at its default level).
      SSL_CTX_set_security_level(ctx.get(), 0);
      SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx.get(), options.tls->max_version);
    }
    if (!options.tls->ciphers.empty()) {
      // Offer exactly these TLS 1.2 suites, weak ones included (security level 0), and no 1.3.
      SSL_CTX_set_security_level(ctx.get(), 0);
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION);
      if (SSL_CTX_set_cipher_list(ctx.get(), options.tls->ciphers.c_str()) != 1) {
        close(fd);
        reply.error = "OpenSSL does not know the suites " + options.tls->ciphers;
        return done(reply);
      }
    }
    if (SSL_CTX_load_verify_locations(ctx.get(), options.tls->ca_file.c_str(), nullptr) != 1) {
      close(fd);
      reply.error = "cannot load CA file " + options.tls->ca_file;
      return done(reply);
    }
    ssl.reset(SSL_new(ctx.get()));
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    if (X509_VERIFY_PARAM_set1_ip_asc(param, options.tls->expect_host.c_str()) != 1) {
      X509_VERIFY_PARAM_set1_host(param, options.tls->expect_host.c_str(), 0);
      SSL_set_tlsext_host_name(ssl.get(), options.tls->expect_host.c_str());
    }
    SSL_set_fd(ssl.get(), fd);
    Stream handshake(fd, nullptr);
    while (true) {
      int r = SSL_connect(ssl.get());
      if (r == 1) break;
      int e = SSL_get_error(ssl.get(), r);
      if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
          handshake.Wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        continue;
      }
      char msg[256];
      ERR_error_string_n(ERR_get_error(), msg, sizeof msg);
      long verify = SSL_get_verify_result(ssl.get());
      reply.error = std::string("TLS handshake failed: ") + msg +
                    (verify != X509_V_OK ? std::string(" (verify: ") + X509_verify_cert_error_string(verify) + ")" : "");
      close(fd);
      return done(reply);
    }
  }
  Stream stream(fd, ssl.get());
  if (!stream.WriteAll(raw, deadline, error)) {
    // The server may have answered and closed early (e.g. 413 before reading a body): read it.
    std::string pending;
    HttpReply r = ReadOne(stream, pending, deadline, head);
    if (r.status == 0) r.error = error + "; " + r.error;
    close(fd);
    return done(r);
  }
  std::string pending;
  reply = ReadOne(stream, pending, deadline, head);
  if (head && reply.status != 0) {
    // The answer to a HEAD has no body, but a server that sent one anyway must be seen: this is
    // the connection's only request, so read what follows until the server closes it.
    char buf[4096];
    ssize_t n;
    while ((n = stream.Read(buf, sizeof buf, deadline)) > 0) pending.append(buf, static_cast<size_t>(n));
    reply.body = pending;
  }
  if (ssl) SSL_shutdown(ssl.get());
  close(fd);
  return done(reply);
}

HttpReply Request(int port, const std::string& method, const std::string& target, const RequestOptions& options) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n";
  bool has_length = false;
  for (const auto& [k, v] : options.headers) {
    raw += k + ": " + v + "\r\n";
    if (Lower(k) == "content-length" || Lower(k) == "transfer-encoding") has_length = true;
  }
  if ((!options.body.empty() || method == "POST") && !has_length) {
    raw += "Content-Length: " + std::to_string(options.body.size()) + "\r\n";
  }
  raw += "Connection: close\r\n\r\n" + options.body;
  return Exchange(port, raw, options, method == "HEAD");
}

Connection::Connection(int port, std::chrono::milliseconds timeout) {
  std::string error;
  fd_ = ConnectLoopback(port, Clock::now() + timeout, error);
  if (fd_ < 0) throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + error);
}

Connection::~Connection() {
  if (fd_ >= 0) close(fd_);
}

bool Connection::Send(const std::string& bytes) {
  Stream s(fd_, nullptr);
  std::string error;
  return s.WriteAll(bytes, Clock::now() + std::chrono::seconds(10), error);
}

HttpReply Connection::ReadResponse(std::chrono::milliseconds timeout, bool head) {
  const auto start = Clock::now();
  Stream s(fd_, nullptr);
  HttpReply r = ReadOne(s, pending_, start + timeout, head);
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return r;
}

bool Connection::ClosedByPeer(std::chrono::milliseconds timeout) {
  Stream s(fd_, nullptr);
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (true) {
    ssize_t n = s.Read(buf, sizeof buf, deadline);
    if (n == 0 || n == -2) return true;
    if (n == -1) return false;
  }
}

std::string PercentEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace dbos_drain::servicetest
