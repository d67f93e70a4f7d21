// See front_listener.h. Everything here runs on the listener's one io_context thread, so the
// connection table and each connection's state need no locks (open_connections() and the count
// of requests in progress are atomics, read by Close from another thread).
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
constexpr std::size_t kReadBuffer = 16 * 1024;
// Bytes read ahead (pipelined requests) while a request awaits its answer; then reading pauses.
constexpr std::size_t kMaxReadAhead = 64 * 1024;
constexpr auto kLinger = std::chrono::seconds(1);
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
  std::atomic<std::size_t> in_progress{0};  // requests handed to `answer` whose answer is not written yet
  bool closing = false;
  // The cap's log line: at most one every kCapLogEvery, with what happened since the last one.
  Clock::time_point cap_logged_at{};
  std::size_t cap_closed = 0, cap_refused = 0;

  Impl(Options o, Logger& l) : options(std::move(o)), log(l) {}

  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    Connection(Impl& owner, tcp::socket socket)
        : owner_(owner), client_(std::move(socket)), state_(NewConnection(Clock::now())) {}

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
          if (self_ptr->closed_) return;
          if (e) return self_ptr->Close();
          self_ptr->Read();
        });
        return;
      }
      Read();
    }

    const ConnectionState& state() const { return state_; }
    bool LingerOver(Clock::time_point now) const { return lingering_ && now >= linger_until_; }

    void Close() {
      if (closed_) return;
      closed_ = true;
      boost::system::error_code ec;
      client_.shutdown(tcp::socket::shutdown_both, ec);
      client_.close(ec);
      if (busy_) --owner_.in_progress;  // an answer still to come is dropped (see Deliver)
      owner_.open.erase(self_);  // may drop the last owner: touch nothing after this
      owner_.open_count = owner_.open.size();
    }

    // An answer given through `Later`, on the listener's thread.
    void Deliver(std::uint64_t serial, Options::Answer answer) {
      if (closed_ || serial != serial_ || !awaiting_) return;  // closed meanwhile: dropped
      WriteAnswer(std::move(answer));
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

    // Keeps one read outstanding: requests, bytes read ahead while an answer is pending (bounded),
    // or what a client sends after a reject (dropped while lingering).
    void Read() {
      if (closed_ || reading_) return;
      if (busy_ && buffered_.size() >= kMaxReadAhead) return;  // resumes when the answer is written
      if (read_buf_.empty()) read_buf_.resize(kReadBuffer);
      reading_ = true;
      auto self = shared_from_this();
      ClientRead(asio::buffer(read_buf_), [self](const boost::system::error_code& e, std::size_t n) {
        self->reading_ = false;
        if (self->closed_) return;
        if (e) {
          // The client went away (or half-closed). An answer being written still goes out; an
          // answer still to come is dropped when it comes.
          if (self->writing_) {
            self->close_after_write_ = true;
            return;
          }
          return self->Close();
        }
        if (self->lingering_) return self->Read();  // after a reject: read and drop
        self->state_ = OnClientBytes(self->state_, Clock::now());
        self->buffered_.append(self->read_buf_.data(), n);
        self->Process();
        self->Read();
      });
    }

    // Parses what is buffered while no request is in progress; hands a whole request to `answer`.
    void Process() {
      if (closed_ || busy_ || lingering_ || buffered_.empty()) return;
      RequestReader::Step step = reader_.Put(buffered_);
      buffered_.erase(0, step.consumed);
      const auto now = Clock::now();
      if (step.head_done) state_ = OnHeadComplete(state_, step.body_follows, now);
      if (step.kind == RequestReader::Step::Kind::kNeedMore) return;
      busy_ = true;
      ++owner_.in_progress;
      state_ = OnRequestComplete(state_, now);
      if (step.kind == RequestReader::Step::Kind::kReject) {
        keep_alive_ = false;
        rejected_ = true;
        return WriteAnswer({std::move(step.reject), true});
      }
      reader_.Reset();
      keep_alive_ = step.keep_alive;
      awaiting_ = true;
      const std::uint64_t serial = ++serial_;
      // The answer given later comes from another thread: it reaches this connection through
      // the listener's thread, if both are still there by then.
      std::weak_ptr<Impl> owner = owner_.shared_from_this();
      std::weak_ptr<Connection> conn = shared_from_this();
      Options::Offer offer = owner_.options.answer(step.request, [owner, conn, serial](Options::Answer answer) {
        auto impl = owner.lock();
        if (!impl) return;
        asio::post(impl->io, [conn, serial, answer = std::move(answer)]() mutable {
          if (auto self = conn.lock()) self->Deliver(serial, std::move(answer));
        });
      });
      if (offer.kind == Options::Offer::Kind::kNow) return WriteAnswer(std::move(offer.now));
      if (offer.long_poll) state_ = OnLongPoll(state_);
    }

    // Writes an answer, then goes on with what the client sent next (or closes).
    void WriteAnswer(Options::Answer answer) {
      if (closed_) return;
      awaiting_ = false;
      const bool close = answer.close || !keep_alive_;
      response_ = FormatFrontResponse(answer.response, close);
      state_ = OnAnswerStarted(state_, Clock::now());
      writing_ = true;
      auto self = shared_from_this();
      ClientWrite(asio::buffer(response_), [self, close](const boost::system::error_code& e, std::size_t) {
        self->writing_ = false;
        if (self->closed_) return;
        self->busy_ = false;
        --self->owner_.in_progress;
        std::string().swap(self->response_);
        if (e || self->close_after_write_) return self->Close();
        // After a reject the client may still be sending its request: linger. After a whole
        // request, close at once (as cheap as it gets for one-request clients such as probes).
        if (close) return self->rejected_ || !self->buffered_.empty() ? self->Linger() : self->Close();
        self->state_ = OnAnswerWritten(self->state_, !self->buffered_.empty(), Clock::now());
        self->Process();
        self->Read();
      });
    }

    // After the last answer: shut our sending side, drop what the client still sends for a
    // moment (closing with unread bytes would reset the connection and could destroy the answer
    // before the client reads it), then close. Over TLS: close at once.
    void Linger() {
      if (tls_) return Close();
      boost::system::error_code ec;
      client_.shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return Close();
      lingering_ = true;
      linger_until_ = Clock::now() + kLinger;
      std::string().swap(buffered_);
      Read();
    }

    Impl& owner_;
    tcp::socket client_;
    std::unique_ptr<asio::ssl::context> tls_context_;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
    std::vector<char> read_buf_;
    ConnectionState state_;
    Table::iterator self_;
    RequestReader reader_;
    std::string buffered_;   // client bytes not yet parsed
    std::string response_;   // the answer being written
    std::uint64_t serial_ = 0;  // the request whose answer is awaited
    bool closed_ = false;
    bool reading_ = false;
    bool busy_ = false;       // a request is whole and its answer not yet written
    bool awaiting_ = false;   // ... and its answer has not come yet
    bool writing_ = false;
    bool keep_alive_ = true;
    bool close_after_write_ = false;
    bool rejected_ = false;   // the last answer was a reject: the request may not be all read
    bool lingering_ = false;
    Clock::time_point linger_until_{};
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
      auto victim = PickConnectionToClose(states, Clock::now(), options.timeouts);
      if (victim) {
        ++cap_closed;
        auto gives_way = *where[*victim];  // keeps it alive while Close() drops it from the table
        gives_way->Close();
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
              {"closed_to_make_room", cap_closed},
              {"refused", cap_refused},
              {"hint", "each open connection holds a descriptor; raise --max-connections or find the client that holds them"}});
    cap_closed = cap_refused = 0;
  }

  // Closes every connection whose deadline has passed.
  void Sweep() {
    const auto now = Clock::now();
    // What the cap did since its last line, once kCapLogEvery has passed.
    if ((cap_closed || cap_refused) && now - cap_logged_at >= kCapLogEvery) LogCap();
    for (auto it = open.begin(); it != open.end();) {
      auto conn = *it++;  // Close() erases it
      auto deadline = DeadlineOf(conn->state(), options.timeouts);
      if ((deadline && deadline->at <= now) || conn->LingerOver(now)) conn->Close();
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
  // Requests in progress get their answers written first (BeginShutdown made them say
  // Connection: close), for at most `drain`.
  const auto deadline = Clock::now() + drain;
  while (impl->in_progress > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  asio::post(impl->io, [impl] {
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
