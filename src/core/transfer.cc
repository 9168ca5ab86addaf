#include "core/transfer.h"

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
  CONN_LOG(LogLevel::Info, c, "%s in %.3f s%s", t.what, (now_ms() - t.started_ms) / 1000.0, t.tail);
}

}  // namespace otad
