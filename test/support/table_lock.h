// Holding a table of a TestDatabase locked, so that every read of it waits: how the tests make a
// database "slow" (a read then waits until statement_timeout, or until the lock goes).
//
//   TableLock lock(db, "workflow_status");  // reads of workflow_status now wait
//   ...
//   lock.Release();                         // they go through
//
// Contract: the constructor returns once ACCESS EXCLUSIVE on SCHEMA.table is held, in an open
// transaction on a connection of its own (throws otherwise). Release() ends that transaction
// (rolled back: it changed nothing) and so frees the table; the destructor does it when the
// test did not. Release() twice is harmless.
#pragma once

#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "test_database.h"

namespace dbos_drain::testing {

class TableLock {
 public:
  TableLock(const TestDatabase& db, const std::string& table)
      : conn_(db.Connect()), tx_(std::make_unique<pqxx::work>(*conn_)) {
    tx_->exec("LOCK TABLE " + db.Table(table) + " IN ACCESS EXCLUSIVE MODE");
  }
  ~TableLock() { Release(); }
  TableLock(const TableLock&) = delete;
  TableLock& operator=(const TableLock&) = delete;

  void Release() {
    if (!tx_) return;
    try {
      tx_->abort();
    } catch (const std::exception&) {
      // The connection is gone (e.g. the server was stopped): so is the lock.
    }
    tx_.reset();
  }

 private:
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
};

}  // namespace dbos_drain::testing
