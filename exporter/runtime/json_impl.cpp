// Boost.JSON's compiled part, built once for the whole project (Boost.JSON's header-only mode:
// Debian's libboost1.81-dev ships no libboost_json). Every other file includes <boost/json.hpp>.
#include <boost/json/src.hpp>
