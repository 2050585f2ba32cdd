package sandbox

import "net/http"

// LoopbackOnly serves h to loopback clients that came through no proxy (or
// through a proxy that names only loopback clients) and answers 403 to anyone
// else. crmbot mounts its embedded sandbox behind it: the sandbox signs anyone
// in as any demo user, which must not be open to a network by default.
func LoopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackClient(r) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("The embedded Dataverse sandbox only answers this machine. Set CRMBOT_SANDBOX_PUBLIC=true to open it to the network (demo data only).\n"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
