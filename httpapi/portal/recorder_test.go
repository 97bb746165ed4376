package portal_test

import "net/http/httptest"

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
