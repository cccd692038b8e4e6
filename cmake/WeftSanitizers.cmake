# WEFT_SANITIZE=address,undefined | thread: applied globally, before any
# target is created, so the library is instrumented along with its users.
if(WEFT_SANITIZE)
  string(REPLACE "," ";" _weft_sans "${WEFT_SANITIZE}")
  foreach(_s IN LISTS _weft_sans)
    if(NOT _s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "WEFT_SANITIZE: unknown sanitizer '${_s}' (use address,undefined or thread)")
    endif()
  endforeach()
  add_compile_options(-fsanitize=${WEFT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${WEFT_SANITIZE})
endif()
