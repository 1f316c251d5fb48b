# The fuzz targets under libFuzzer (issue 34), included by CMakeLists.txt when EMOTUNE_FUZZ is on: clang only,
# each target built with AddressSanitizer + UndefinedBehaviorSanitizer over just the parsers it needs, so the
# whole of emotune is not rebuilt with instrumentation. scripts/fuzz.sh configures, builds and runs them:
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DEMOTUNE_FUZZ=ON && cmake --build build-fuzz
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "EMOTUNE_FUZZ needs clang (libFuzzer): CC=clang CXX=clang++ cmake ... (scripts/fuzz.sh does this)")
endif()
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
find_library(CSV_LIBRARY csv REQUIRED)
find_path(CSV_INCLUDE_DIR csv.h REQUIRED)

set(EMOTUNE_FUZZ_SANITIZERS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1)
file(GLOB EMOTUNE_CONFIG_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/csrc/config/*.cpp)
add_library(emotune_fuzz_parsers STATIC
  ${EMOTUNE_CONFIG_SOURCES}
  csrc/core/atomic_file.cpp csrc/data/manifest.cpp csrc/data/csv_table.cpp csrc/data/image_size.cpp
  csrc/io/safetensors.cpp csrc/vlm/bundle_spec.cpp csrc/vlm/bpe_tokenizer.cpp csrc/vlm/special_tokens.cpp
  tests/fuzz/fuzz_support.cpp)
target_include_directories(emotune_fuzz_parsers PUBLIC ${CMAKE_SOURCE_DIR}/csrc ${CMAKE_SOURCE_DIR}/tests/fuzz PRIVATE ${CSV_INCLUDE_DIR})
target_compile_options(emotune_fuzz_parsers PUBLIC ${TORCH_CXX_FLAGS} ${EMOTUNE_FUZZ_SANITIZERS} -fsanitize=fuzzer-no-link)
target_link_libraries(emotune_fuzz_parsers PUBLIC ${TORCH_LIBRARIES} yaml-cpp nlohmann_json::nlohmann_json
  PkgConfig::PCRE2 PkgConfig::UTF8PROC ${CSV_LIBRARY})

file(GLOB EMOTUNE_FUZZ_TARGET_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.cpp)
list(FILTER EMOTUNE_FUZZ_TARGET_SOURCES EXCLUDE REGEX "fuzz_support\\.cpp$")
foreach(source ${EMOTUNE_FUZZ_TARGET_SOURCES})
  get_filename_component(name ${source} NAME_WE)  # fuzz_<target>
  add_executable(${name} ${source})
  target_compile_definitions(${name} PRIVATE EMOTUNE_LIBFUZZER)
  target_link_libraries(${name} PRIVATE emotune_fuzz_parsers)
  target_link_options(${name} PRIVATE ${EMOTUNE_FUZZ_SANITIZERS} -fsanitize=fuzzer)
endforeach()
