// See front_listener.h. Everything here runs on the listener's one io_context thread, so the
// connection table and each connection's state need no locks (open_connections() reads an atomic).
#include "front_listener.h"

#include "front_answer.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <list>
#include <thread>
#include <vector>

namespace dbos_drain {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
constexpr std::size_t kClientBuffer = 4 * 1024;
constexpr std::size_t kServiceBuffer = 16 * 1024;
constexpr auto kCapLogEvery = std::chrono::seconds(10);
}  // namespace

struct FrontListener::Impl : std::enable_shared_from_this<FrontListener::Impl> {
  class Connection;
  using Table = std::list<std::shared_ptr<Connection>>;

  Options options;
  Logger& log;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer sweeper{io};
  std::thread thread;
  Table open;
  std::atomic<std::size_t> open_count{0};
  std::atomic<std::size_t> forwarding{0};  // connections with a forward socket to cpprest
  std::atomic<std::size_t> answering{0};   // answers of our own being written
  bool closing = false;
  // The cap's log line: at most one every kCapLogEvery, with what happened since the last one.
  Clock::time_point cap_logged_at{};
  std::size_t cap_closed = 0, cap_refused = 0;

  Impl(Options o, Logger& l) : options(std::move(o)), log(l) {}

  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    Connection(Impl& owner, tcp::socket socket)
        : owner_(owner),
          client_(std::move(socket)),
          service_(owner.io),
          state_(NewConnection(Clock::now())),
          local_(static_cast<bool>(owner.options.answer)) {}

    void Start(Table::iterator self) {
      self_ = self;
      boost::system::error_code ec;
      client_.set_option(tcp::no_delay(true), ec);
      if (owner_.options.configure_tls) {
        try {
          tls_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::sslv23_server);
          owner_.options.configure_tls(*tls_context_);
        } catch (const std::exception& e) {
          owner_.log.Error("TLS files unusable; connection dropped", {{"error", e.what()}});
          Close();
          return;
        }
        tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(client_, *tls_context_);
        auto self_ptr = shared_from_this();
        tls_->async_handshake(asio::ssl::stream_base::server, [self_ptr](const boost::system::error_code& e) {
          if (e) return self_ptr->Close();
          self_ptr->ReadClient();
        });
        return;
      }
      ReadClient();
    }

    const ConnectionState& state() const { return state_; }

    void Close() {
      if (closed_) return;
      closed_ = true;
      boost::system::error_code ec;
      client_.shutdown(tcp::socket::shutdown_both, ec);
      client_.close(ec);
      service_.close(ec);
      if (service_open_) --owner_.forwarding;
      if (answering_) --owner_.answering;
      owner_.open.erase(self_);  // may drop the last owner: touch nothing after this
      owner_.open_count = owner_.open.size();
    }

   private:
    template <typename Buffers, typename Handler>
    void ClientRead(const Buffers& b, Handler&& h) {
      if (tls_) tls_->async_read_some(b, std::forward<Handler>(h));
      else client_.async_read_some(b, std::forward<Handler>(h));
    }
    template <typename Buffers, typename Handler>
    void ClientWrite(const Buffers& b, Handler&& h) {
      if (tls_) asio::async_write(*tls_, b, std::forward<Handler>(h));
      else asio::async_write(client_, b, std::forward<Handler>(h));
    }

    void ReadClient() {
      if (closed_) return;
      if (client_buf_.empty()) client_buf_.resize(kClientBuffer);
      auto self = shared_from_this();
      ClientRead(asio::buffer(client_buf_), [self](const boost::system::error_code& e, std::size_t n) {
        if (self->closed_) return;
        if (e) {
          // The client went away (or half-closed): let cpprest see the end, close when it answers.
          if (!self->service_open_) return self->Close();
          boost::system::error_code ec;
          self->service_.shutdown(tcp::socket::shutdown_send, ec);
          return;
        }
        self->state_ = OnClientBytes(self->state_, std::string_view(self->client_buf_.data(), n), Clock::now());
        if (!self->local_) return self->ForwardToService(asio::buffer(self->client_buf_.data(), n));
        self->buffered_.append(self->client_buf_.data(), n);
        self->AnswerBuffered();
      });
    }

    // Answers the buffered requests here while it can (front_answer.h); the first one it cannot
    // goes to cpprest with everything after it, and so does the rest of the connection.
    void AnswerBuffered() {
      if (closed_) return;
      if (buffered_.empty()) return ReadClient();
      FrontHead head = ParseFrontHead(buffered_);
      if (head.kind == FrontHead::Kind::kNeedMore) return ReadClient();
      Options::Offer offer;
      if (head.kind == FrontHead::Kind::kRequest) {
        // The answer given later comes from another thread: it reaches this connection through
        // the listener's thread, if both are still there by then.
        std::weak_ptr<Impl> owner = owner_.shared_from_this();
        std::weak_ptr<Connection> conn = shared_from_this();
        const bool keep_alive = head.keep_alive;
        offer = owner_.options.answer(head.request, [owner, conn, keep_alive](Options::Answer answer) {
          auto impl = owner.lock();
          if (!impl) return;
          asio::post(impl->io, [conn, keep_alive, answer = std::move(answer)]() mutable {
            if (auto self = conn.lock()) self->WriteAnswer(std::move(answer), keep_alive);
          });
        });
      }
      if (offer.kind == Options::Offer::Kind::kForward) {
        local_ = false;
        return ForwardToService(asio::buffer(buffered_));
      }
      buffered_.erase(0, head.consumed);
      answering_ = true;
      ++owner_.answering;
      if (offer.kind == Options::Offer::Kind::kNow) WriteAnswer(std::move(offer.now), head.keep_alive);
    }

    // Writes an answer of ours, then goes on with what the client sent next.
    void WriteAnswer(Options::Answer answer, bool keep_alive) {
      if (closed_) return;
      const bool close = answer.close || !keep_alive;
      response_ = FormatFrontResponse(answer.response, answer.close);
      auto self = shared_from_this();
      ClientWrite(asio::buffer(response_), [self, close](const boost::system::error_code& e, std::size_t) {
        if (self->closed_) return;
        self->answering_ = false;
        --self->owner_.answering;
        if (e || close) return self->Close();
        self->state_ = OnServiceBytes(self->state_, Clock::now());
        self->AnswerBuffered();
      });
    }

    void ForwardToService(asio::const_buffer bytes) {
      auto self = shared_from_this();
      if (!service_open_) {
        // Connect to cpprest on the first byte: a connection that never sends anything costs
        // one descriptor, not three.
        service_.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), owner_.options.backend_port),
                               [self, bytes](const boost::system::error_code& e) {
                                 if (self->closed_) return;
                                 if (e) {
                                   self->owner_.log.Error("cannot reach the internal listener", {{"error", e.message()}});
                                   return self->Close();
                                 }
                                 boost::system::error_code ec;
                                 self->service_.set_option(tcp::no_delay(true), ec);
                                 self->service_open_ = true;
                                 ++self->owner_.forwarding;
                                 self->ReadService();
                                 self->ForwardToService(bytes);
                               });
        return;
      }
      asio::async_write(service_, bytes, [self](const boost::system::error_code& e, std::size_t) {
        if (self->closed_) return;
        if (e) return self->Close();
        std::string().swap(self->buffered_);  // forwarded (it may have been the bytes written)
        self->ReadClient();
      });
    }

    void ReadService() {
      if (closed_) return;
      if (service_buf_.empty()) service_buf_.resize(kServiceBuffer);
      auto self = shared_from_this();
      service_.async_read_some(asio::buffer(service_buf_), [self](const boost::system::error_code& e, std::size_t n) {
        if (self->closed_) return;
        if (e) return self->Close();  // cpprest closed (Connection: close, shutdown): so do we
        self->state_ = OnServiceBytes(self->state_, Clock::now());
        self->ClientWrite(asio::buffer(self->service_buf_.data(), n), [self](const boost::system::error_code& e2, std::size_t) {
          if (self->closed_) return;
          if (e2) return self->Close();
          self->state_ = OnServiceBytes(self->state_, Clock::now());
          self->ReadService();
        });
      });
    }

    Impl& owner_;
    tcp::socket client_;
    tcp::socket service_;
    std::unique_ptr<asio::ssl::context> tls_context_;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
    std::vector<char> client_buf_, service_buf_;
    ConnectionState state_;
    Table::iterator self_;
    bool service_open_ = false;
    bool closed_ = false;
    bool local_;               // still offering requests to options.answer
    std::string buffered_;     // client bytes not yet answered or forwarded (while local_)
    std::string response_;     // the answer being written
    bool answering_ = false;
  };

  void Accept() {
    auto self = shared_from_this();
    acceptor.async_accept([self](const boost::system::error_code& e, tcp::socket socket) {
      if (self->closing) return;
      if (e) {
        // EMFILE and friends: note it, and try again shortly rather than spin.
        self->log.Warn("accept failed", {{"error", e.message()}, {"open_connections", self->open.size()}});
        auto timer = std::make_shared<asio::steady_timer>(self->io, std::chrono::milliseconds(50));
        timer->async_wait([self, timer](const boost::system::error_code&) {
          if (!self->closing) self->Accept();
        });
        return;
      }
      self->Admit(std::move(socket));
      self->Accept();
    });
  }

  void Admit(tcp::socket socket) {
    if (open.size() >= options.max_connections) {
      std::vector<ConnectionState> states;
      std::vector<Table::iterator> where;
      states.reserve(open.size());
      for (auto it = open.begin(); it != open.end(); ++it) {
        states.push_back((*it)->state());
        where.push_back(it);
      }
      auto victim = PickConnectionToClose(states);
      if (victim) {
        ++cap_closed;
        auto quietest = *where[*victim];  // keeps it alive while Close() drops it from the table
        quietest->Close();
      } else {
        ++cap_refused;
      }
      LogCap();
      if (!victim) {
        boost::system::error_code ec;
        socket.close(ec);
        return;
      }
    }
    open.push_front(std::make_shared<Connection>(*this, std::move(socket)));
    open_count = open.size();
    auto conn = open.front();
    conn->Start(open.begin());
  }

  void LogCap() {
    const auto now = Clock::now();
    if (cap_logged_at != Clock::time_point{} && now - cap_logged_at < kCapLogEvery) return;
    cap_logged_at = now;
    log.Warn("connection limit reached",
             {{"max_connections", options.max_connections},
              {"closed_quietest", cap_closed},
              {"refused", cap_refused},
              {"hint", "each open connection holds descriptors; raise --max-connections or find the client that holds them"}});
    cap_closed = cap_refused = 0;
  }

  // Closes every connection whose deadline has passed.
  void Sweep() {
    const auto now = Clock::now();
    // What the cap did since its last line, once kCapLogEvery has passed.
    if ((cap_closed || cap_refused) && now - cap_logged_at >= kCapLogEvery) LogCap();
    for (auto it = open.begin(); it != open.end();) {
      auto conn = *it++;  // Close() erases it
      if (DeadlineOf(conn->state(), options.timeouts).at <= now) conn->Close();
    }
    sweeper.expires_after(SweepInterval());
    auto self = shared_from_this();
    sweeper.async_wait([self](const boost::system::error_code& e) {
      if (!e && !self->closing) self->Sweep();
    });
  }

  std::chrono::milliseconds SweepInterval() const {
    auto shortest = std::min(options.timeouts.header, options.timeouts.idle);
    return std::clamp(shortest / 10, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
  }
};

FrontListener::FrontListener(Options options, Logger& log) : impl_(std::make_shared<Impl>(std::move(options), log)) {}

FrontListener::~FrontListener() { Close(); }

void FrontListener::Open() {
  auto& impl = *impl_;
  std::string host = impl.options.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  tcp::resolver resolver(impl.io);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, std::to_string(impl.options.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) throw std::runtime_error("cannot resolve " + host + ": " + ec.message());
  const tcp::endpoint endpoint = results.begin()->endpoint();
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(ec.message() + " (" + host + ":" + std::to_string(impl.options.port) + ")");
  impl.Accept();
  impl.Sweep();
  impl.thread = std::thread([p = impl_] { p->io.run(); });
}

void FrontListener::Close(std::chrono::milliseconds drain) {
  auto impl = impl_;
  if (!impl->thread.joinable()) return;
  asio::post(impl->io, [impl] {
    impl->closing = true;
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
  // Connections whose cpprest end is closing forward what it sent, then close themselves.
  const auto deadline = Clock::now() + drain;
  while ((impl->forwarding > 0 || impl->answering > 0) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  asio::post(impl->io, [impl] {
    impl->closing = true;
    boost::system::error_code ec;
    impl->acceptor.close(ec);
    impl->sweeper.cancel();
    while (!impl->open.empty()) {
      auto conn = impl->open.front();
      conn->Close();
    }
  });
  impl->thread.join();
}

std::size_t FrontListener::open_connections() const { return impl_->open_count; }

}  // namespace dbos_drain
