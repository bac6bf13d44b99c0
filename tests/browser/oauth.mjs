// oauth4webapi (panva) for the app tests in tests/apps, which lie outside this package's folder
// and so cannot resolve its modules by name themselves.
export * from "oauth4webapi";
