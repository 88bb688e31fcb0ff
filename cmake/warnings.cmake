# Warnings and sanitizers, applied per target so third-party headers stay quiet.
function(skiff_target_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wformat=2
        -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -Wvla)
    if(SKIFF_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()

if(SKIFF_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()
