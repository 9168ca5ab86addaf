#include "core/transfer.h"

#include "core/context.h"

namespace otad {

void TransferLog::download_started(Conn& c) {
  if (c.body.counted) return;
  c.body.counted = true;
  if (++downloads_ > stats_.peak_downloads) stats_.peak_downloads = downloads_;
}

Admission::Verdict TransferLog::admit(Conn& c, std::string_view who, bool is_device, std::string_view sha) {
  uint32_t ticket = 0;
  const Admission::Verdict v = admission_->admit(who, is_device, sha, now_ms(), &ticket);
  if (v == Admission::Verdict::Admitted) c.body.ticket = ticket;
  return v;
}

void TransferLog::download_gone(Conn& c) {
  if (c.body.ticket) {
    admission_->release(c.body.ticket, now_ms(), c.body.more_to_come);
    c.body.ticket = 0;
    if (admission_->first_waiting()) wake_ = true;
  }
  if (!c.body.counted) return;
  c.body.counted = false;
  downloads_--;
}

void TransferLog::end(Conn& c, const Transfer& t) {
  download_gone(c);
  switch (t.outcome) {
    case Outcome::Served: stats_.served++; break;
    case Outcome::Refused: stats_.refused++; break;
    case Outcome::Busy: stats_.busy++; break;
    case Outcome::BadRequest: stats_.bad_requests++; break;
    case Outcome::Aborted: stats_.aborted++; break;
    case Outcome::Answered:
    case Outcome::Closed: break;
  }
  stats_.bytes_sent += t.bytes;
  if (t.image_fault) image_fault_ = true;
  const int64_t now = now_ms(), ms = now - t.started_ms;
  // Failures from one address are aggregated: a few lines, then one summary
  // per window (Server::flush_peer_lines), so an attack cannot flood the log.
  const bool failure = t.outcome == Outcome::Refused || t.outcome == Outcome::BadRequest ||
                       t.outcome == Outcome::Closed || t.outcome == Outcome::Aborted;
  PeerRecord* pr = failure && peers_ ? peers_->get(peer_key(c.peer_addr), now) : nullptr;
  if (!pr || peers_->should_log(*pr, t.kind, now)) {
    CONN_LOG(LogLevel::Info, c, "%s in %.3f s%s", t.what, ms / 1000.0, t.tail);
  }
  // The operator's requests (the admin listener) are in the log, not in
  // device state or the event log.
  if (!fleet_ || !c.devices) return;
  TransferNote n;
  n.mac = c.mac;
  n.peer = c.peer;
  n.proto = c.tag;
  n.outcome = outcome_name(t.outcome);
  n.status = t.status;
  n.image = t.image;
  n.bytes = t.bytes;
  // Whole: the body ran to the image's last byte (a full answer, or the
  // last step of a Range walk).
  n.whole = t.outcome == Outcome::Served && t.image && t.bytes > 0 && c.body.end == t.image->m.size;
  n.aborted = t.outcome == Outcome::Aborted;
  n.refused = t.outcome == Outcome::Refused;
  n.ms = ms;
  n.what = t.what;
  std::string note = fleet_->transfer_end(n, wall_s());
  if (!note.empty()) log_fleet_note(c, note);
}

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Served: return "served";
    case Outcome::Answered: return "answered";
    case Outcome::Refused: return "refused";
    case Outcome::Busy: return "busy";
    case Outcome::BadRequest: return "bad request";
    case Outcome::Aborted: return "aborted";
    case Outcome::Closed: return "closed";
  }
  return "?";
}

}  // namespace otad
