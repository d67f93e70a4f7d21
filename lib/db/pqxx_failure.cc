#include "pqxx_failure.h"

#include <pqxx/except>

namespace dbos_drain {
namespace {

std::string SqlState(const pqxx::sql_error& e) {
  if (!e.sqlstate().empty()) return e.sqlstate();
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&e)) return "42501";
  if (dynamic_cast<const pqxx::undefined_table*>(&e)) return "42P01";
  if (dynamic_cast<const pqxx::undefined_column*>(&e)) return "42703";
  return "";
}

}  // namespace

DatabaseFailure DescribeFailure(const std::exception& e) {
  DatabaseFailure f;
  f.message = e.what();
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
    f.kind = DatabaseFailure::Kind::kConnection;
  } else if (auto* se = dynamic_cast<const pqxx::sql_error*>(&e)) {
    f.kind = DatabaseFailure::Kind::kSql;
    f.sqlstate = SqlState(*se);
  } else if (dynamic_cast<const pqxx::in_doubt_error*>(&e) || dynamic_cast<const pqxx::failure*>(&e)) {
    f.kind = DatabaseFailure::Kind::kLost;
  }
  return f;
}

}  // namespace dbos_drain
