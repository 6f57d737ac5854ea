# Build speed only: the third-party headers that nearly every translation unit
# of a target parses (Asio alone is seconds per file) are precompiled once per
# target. Installed headers and what users compile are unaffected; the header
# self-containment check (tests/header_check) never uses it.
option(CQLPP_PCH "Precompile heavy third-party headers per target (faster builds)" ${CQLPP_TOP_LEVEL})

set(CQLPP_PCH_STD <algorithm> <array> <chrono> <cstdint> <cstring> <deque> <functional> <map> <memory>
    <optional> <span> <string> <string_view> <system_error> <unordered_map> <variant> <vector>)

# cqlpp_pch(<target> [<header>...]): the standard headers above plus the given ones.
function(cqlpp_pch target)
  if(CQLPP_PCH)
    target_precompile_headers(${target} PRIVATE ${CQLPP_PCH_STD} ${ARGN})
  endif()
endfunction()
