#include "patch_reader.h"

#include <pqxx/pqxx>

#include <set>
#include <vector>

#include "drain_error.h"
#include "patch_query.h"
#include "text_array.h"

namespace dbos_drain {
namespace {

void CheckColumns(pqxx::dbtransaction& txn, const SchemaShape& shape) {
  std::map<std::string, std::set<std::string>> tables;
  for (const auto& row : txn.exec_params(kPatchColumnsQuery, shape.schema)) {
    tables[row[0].as<std::string>()].insert(row[1].as<std::string>());
  }
  const std::string where = " in database \"" + shape.database + "\" schema \"" + shape.schema + "\"";
  if (!tables.count("operation_outputs")) {
    throw DrainError(ErrorCode::kSchemaUnrecognized,
                     "cannot read workflow patches" + where + ": table " + shape.schema +
                         ".operation_outputs does not exist (not a DBOS system database, or too old an SDK)");
  }
  for (const char* needed : {"workflow_uuid", "function_id", "function_name", "started_at_epoch_ms", "completed_at_epoch_ms"}) {
    if (!tables["operation_outputs"].count(needed)) {
      throw DrainError(ErrorCode::kSchemaUnrecognized,
                       "cannot read workflow patches" + where + ": " + shape.schema + ".operation_outputs has no column " +
                           needed + " (a DBOS SDK older than workflow patching wrote this schema; patches need the "
                           "newer schema)");
    }
  }
  if (!tables["workflow_status"].count("name")) {
    throw DrainError(ErrorCode::kSchemaUnrecognized,
                     "cannot read workflow patches" + where + ": " + shape.schema + ".workflow_status has no column name");
  }
}

bool IsTimeout(const pqxx::sql_error& e) {
  return e.sqlstate() == "57014";
}

}  // namespace

PatchSnapshot PatchReader::Read() {
  PatchSnapshot snap;
  const auto& app = db_.settings().application;
  db_.ReadWith("reading workflow patches", [&](pqxx::dbtransaction& txn, const SchemaShape& shape, uint64_t connection) {
    const bool scoped = app.has_value() && shape.has_application_name;
    if (connection != connection_) {
      // Another connection: check the shape again and read the history afresh.
      CheckColumns(txn, shape);
      connection_ = connection;
      history_.clear();
      undated_.clear();
      read_up_to_ms_.reset();
      history_complete_ = false;
    }
    const int64_t now_ms = txn.exec("SELECT (extract(epoch FROM now()) * 1000)::bigint")[0][0].as<int64_t>();
    pqxx::result found;
    if (!read_up_to_ms_) {
      // Under a savepoint: past statement_timeout the report goes on without the full history.
      txn.exec("SAVEPOINT patch_history");
      try {
        const std::string sql = BuildPatchHistoryQuery(shape, false, scoped);
        found = scoped ? txn.exec_params(sql, *app) : txn.exec_params(sql);
        txn.exec("RELEASE SAVEPOINT patch_history");
        history_complete_ = true;
        last_history_read_ = "full";
      } catch (const pqxx::sql_error& e) {
        if (!IsTimeout(e)) throw;
        txn.exec("ROLLBACK TO SAVEPOINT patch_history");
        history_complete_ = false;
        last_history_read_ = "timed_out";
      }
    } else {
      const std::string sql = BuildPatchHistoryQuery(shape, true, scoped);
      const int64_t since = *read_up_to_ms_ - kHistoryRescan.count();
      found = scoped ? txn.exec_params(sql, since, *app) : txn.exec_params(sql, since);
      last_history_read_ = "incremental";
    }
    for (const auto& row : found) {
      const std::string patch = row[0].as<std::string>();
      // No time on any marker of this group (Go): no date, never "now".
      std::optional<int64_t> first;
      if (!row[3].is_null()) first = row[3].as<int64_t>();
      auto& entry = history_[patch];
      if (first && (!entry.first_recorded_ms || *first < *entry.first_recorded_ms)) entry.first_recorded_ms = first;
      if (row[4].as<int64_t>() > 0) undated_.insert(patch);
      entry.positions[row[1].as<std::string>()].insert(row[2].as<int>());
    }
    read_up_to_ms_ = now_ms;

    std::vector<std::string> functions;
    std::vector<int> ids;
    for (const auto& [patch, h] : history_) {
      for (const auto& [f, positions] : h.positions) {
        for (int p : positions) {
          functions.push_back(f);
          ids.push_back(p);
        }
      }
    }
    const std::string sql = BuildPatchInFlightQuery(shape, scoped);
    pqxx::result rows = scoped ? txn.exec_params(sql, TextArrayLiteral(functions), IntArrayLiteral(ids), *app)
                               : txn.exec_params(sql, TextArrayLiteral(functions), IntArrayLiteral(ids));
    for (const auto& row : rows) {
      const std::string kind = row[0].as<std::string>();
      if (kind == "w") {
        PatchWorkflowRow w;
        w.id = row[1].as<std::string>();
        w.function = row[2].as<std::string>();
        w.status = row[3].as<std::string>();
        if (!row[4].is_null()) w.queue = row[4].as<std::string>();
        w.created_at_ms = row[5].as<int64_t>();
        snap.workflows.push_back(std::move(w));
      } else if (kind == "s") {
        PatchStepRow s;
        s.workflow_id = row[1].as<std::string>();
        s.function_name = row[2].as<std::string>();
        s.function_id = static_cast<int>(row[5].as<int64_t>());
        if (!row[6].is_null()) s.started_at_ms = row[6].as<int64_t>();
        snap.steps.push_back(std::move(s));
      } else if (kind == "n") {
        snap.as_of_ms = row[5].as<int64_t>();
      }
    }
  });
  snap.history = history_;
  snap.undated = undated_;
  snap.history_complete = history_complete_;
  return snap;
}

}  // namespace dbos_drain
