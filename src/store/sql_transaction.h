// SqlTransaction: the one transaction helper of SqlStore. Begins a write transaction the way the
// dialect says (taking its lock up front) and rolls back when it goes out of scope uncommitted,
// so an operation that returns early or throws has changed nothing. In grouped mode (an
// operation inside GroupCommit's shared transaction) it is a savepoint instead: Commit releases
// it, and going out of scope uncommitted rolls back to it. One thread, like its connection.
#pragma once

#include "store/dialect.h"

namespace authgate {

class SqlTransaction {
 public:
  enum class Mode { kTransaction, kGrouped };

  SqlTransaction(const Dialect& dialect, SqlConnection& connection,
                 Mode mode = Mode::kTransaction)
      : connection_(connection), grouped_(mode == Mode::kGrouped) {
    connection_.Run(grouped_ ? "SAVEPOINT operation" : dialect.begin_write());
  }
  ~SqlTransaction() {
    if (done_ || !connection_.healthy()) return;
    try {
      connection_.Run(grouped_ ? "ROLLBACK TO operation" : "ROLLBACK");
      if (grouped_) connection_.Run("RELEASE operation");
    } catch (...) {
      // Broken now: the pool drops it, and the server rolls back when the session ends.
    }
  }
  SqlTransaction(const SqlTransaction&) = delete;
  SqlTransaction& operator=(const SqlTransaction&) = delete;

  void Commit() {
    connection_.Run(grouped_ ? "RELEASE operation" : "COMMIT");
    done_ = true;
  }

 private:
  SqlConnection& connection_;
  const bool grouped_;
  bool done_ = false;
};

}  // namespace authgate
