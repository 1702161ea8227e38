// Boost.JSON's compiled part, built once for the whole project (Boost.JSON's header-only mode:
// Debian's libboost1.81-dev ships no libboost_json). Every other file includes <boost/json.hpp>.
// It lives in common/ because probes/oauth parses token answers with it and may not link exporter/.
#include <boost/json/src.hpp>
