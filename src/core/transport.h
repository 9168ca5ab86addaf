// The transport seam between the reactor and protocol drivers. Protocol code
// reads and writes through a Transport and never sees a socket option, a TLS
// record or an mbedTLS code; the reactor finishes a transport's handshake
// before the protocol starts and hands the protocol what it proved.
#pragma once
#include <cstddef>
#include <cstdint>

namespace otad {

struct Conn;

// Outcome of one read or write, with foreign error spaces (errno, TLS)
// folded into one enum in exactly one place per transport.
enum class Io : uint8_t { Ok, WantRead, WantWrite, Eof, Error };
struct IoResult {
  Io st;
  size_t n;  // bytes moved when Ok
  int err;   // transport-specific code when Error; text from error_text()
};

// What a transport proved about the device before the protocol started.
enum class Proof : uint8_t { None, Psk, Cert };
struct Identity {
  Proof proof = Proof::None;
  char mac[13] = {};  // canonical MAC when proof != None
};

// The end of a handshake. Plaintext: the device spoke in clear where a
// handshake belongs (http:// to the HTTPS port); nothing was consumed and the
// connection goes on over the plain transport, marked as misdirected.
enum class Hs : uint8_t { Done, WantRead, WantWrite, Plaintext, Failed };
struct Handshake {
  Hs st;
  Identity proven;        // when Done
  char claimed[13];       // who the device said it was, for the log (may be "")
  const char* why;        // when Failed: the one reason, for the one log line
  bool auth_failed;       // when Failed: a credential was refused (counted against the address)
  bool hello_in;          // the device's first flight is whole (a stall before it is no device's)
};

// A read that returns Ok has n > 0: the peer closing is always Eof, so no
// driver can spin on an empty read.
struct Transport {
  // Runs (part of) the handshake; plain TCP has none and is Done at once.
  virtual Handshake handshake(Conn&) { return {Hs::Done, {}, {}, nullptr, false, true}; }
  virtual IoResult read(Conn& c, uint8_t* buf, size_t n) = 0;
  // more: further bytes follow at once (lets TCP coalesce header and body).
  // After WantWrite, call again with the same bytes (TLS requires it).
  virtual IoResult write(Conn& c, const uint8_t* buf, size_t n, bool more) = 0;
  // Sends up to n bytes of file_fd from off: by sendfile when plain, through
  // one shared scratch buffer when encrypted.
  virtual IoResult send_file(Conn& c, int file_fd, uint64_t off, size_t n) = 0;
  // Ends our direction (TLS: close_notify first).
  virtual void shutdown_write(Conn& c) = 0;
  // Text for an IoResult's err, for the one log line at the edge.
  virtual const char* error_text(int err) = 0;
  // True when closing must send a record of its own (close_notify), so the
  // direction is always shut down explicitly before the socket closes.
  virtual bool closes_with_record() const { return false; }
  // Short name for log lines ("TLS").
  virtual const char* name() const { return "TCP"; }

 protected:
  ~Transport() = default;
};
Transport& plain_transport();

// A transport with per-connection state from a fixed pool (TLS contexts).
// The reactor attaches one at accept and detaches it when the slot frees; a
// listener whose pool is not accepting leaves devices in the kernel backlog.
struct TransportPool {
  virtual Transport* attach(Conn& c) = 0;  // nullptr: none could be set up
  virtual void detach(Conn& c) = 0;
  virtual bool accepting() const = 0;
  // Why accepting() is false, for the one line when accept pauses; *warn:
  // worth a warning (every context busy), not only a debug line.
  virtual const char* busy_reason(bool* warn) const = 0;
  virtual int64_t handshake_timeout_ms() const = 0;

 protected:
  ~TransportPool() = default;
};

}  // namespace otad
