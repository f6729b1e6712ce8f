/*
 * glibc's malloc_trim(0), for server/ops/memory-release.ts. After a large backlog has
 * drained, most of the broker's leftover RSS is free memory in the middle of glibc's
 * heap: free() only ever gives back the top of the heap, and Node has no call that
 * reaches the rest. malloc_trim walks every arena and returns the free pages.
 */
#include <node_api.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#ifdef __GLIBC__
  released = malloc_trim(0);
#endif
  napi_value result;
  napi_get_boolean(env, released != 0, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  return exports;
}
