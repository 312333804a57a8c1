// SqlTransaction: the one transaction helper of SqlStore. Begins a write transaction the way the
// dialect says (taking its lock up front) and rolls back when it goes out of scope uncommitted,
// so an operation that returns early or throws has changed nothing. One thread, like its
// connection.
#pragma once

#include "store/dialect.h"

namespace authgate {

class SqlTransaction {
 public:
  SqlTransaction(const Dialect& dialect, SqlConnection& connection) : connection_(connection) {
    connection_.Run(dialect.begin_write());
  }
  ~SqlTransaction() {
    if (done_ || !connection_.healthy()) return;
    try {
      connection_.Run("ROLLBACK");
    } catch (...) {
      // Broken now: the pool drops it, and the server rolls back when the session ends.
    }
  }
  SqlTransaction(const SqlTransaction&) = delete;
  SqlTransaction& operator=(const SqlTransaction&) = delete;

  void Commit() {
    connection_.Run("COMMIT");
    done_ = true;
  }

 private:
  SqlConnection& connection_;
  bool done_ = false;
};

}  // namespace authgate
