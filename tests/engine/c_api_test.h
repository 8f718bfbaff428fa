/* The C-side check of the C API, called from the gtest driver. */
#ifndef MM_TESTS_C_API_TEST_H
#define MM_TESTS_C_API_TEST_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
/* Returns 1 when every check passed, else 0 with the failure in message. */
int mm_c_api_check(const char* models_dir, const uint8_t* face_rgb, int width, int height, char* message,
                   size_t message_size);
#ifdef __cplusplus
}
#endif
#endif
