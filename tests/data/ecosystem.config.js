module.exports = {
  apps: [
    // CORE SERVICES
    {
      name: "sttttserver",
      script: "./STTTTSserver.js",
      cwd: "/home/azureuser/translation-app/3333_4444__Operational/STTTTSserver",
      instances: 1,
      autorestart: true,
      max_memory_restart: "500M",
      watch: false,
      max_restarts: 10,
      min_uptime: "10s",
      env: {
        NODE_ENV: "production",
        PORT: 3020,
        SOCKET_PORT: 6211
      },
      error_file: "/tmp/pm2-sttttserver-error.log",
      out_file: "/tmp/pm2-sttttserver-out.log",
      log_date_format: "YYYY-MM-DD HH:mm:ss Z",
      merge_logs: true
    },
    {
      name: "ari-gstreamer",
      script: "./ari-gstreamer-operational.js",
      cwd: "/home/azureuser/translation-app/3333_4444__Operational",
      instances: 1,
      autorestart: true,
      max_memory_restart: "300M",
      watch: false,
      env: {
        NODE_ENV: "production"
      }
    },

    // MONITORING LAYER
    {
      name: "monitoring-server",
      script: "./monitoring-server.js",
      cwd: "/home/azureuser/translation-app",
      instances: 1,
      autorestart: true,
      max_memory_restart: "200M",
      watch: false,
      env: {
        NODE_ENV: "production",
        PORT: 3001,
        DATABASE_API_PORT: 8080
      }
    },
    {
      name: "database-api-server",
      script: "./database-api-server.js",
      cwd: "/home/azureuser/translation-app",
      instances: 1,
      autorestart: true,
      max_memory_restart: "200M",
      watch: false,
      env: {
        NODE_ENV: "production",
        PORT: 8083
      }
    },
    {
      name: "monitoring-bridge",
      script: "./monitoring-to-database-bridge.js",
      cwd: "/home/azureuser/translation-app",
      instances: 1,
      autorestart: true,
      max_memory_restart: "150M",
      watch: false,
      env: {
        NODE_ENV: "production"
      }
    },
    {
      name: "metrics-emitter",
      script: "./continuous-metrics-emitter.js",
      cwd: "/home/azureuser/translation-app",
      instances: 1,
      autorestart: true,
      max_memory_restart: "150M",
      watch: false,
      env: {
        NODE_ENV: "production"
      }
    },

    // GATEWAY LAYER
    {
      name: "gateway-3333",
      script: "./gateway-3333.js",
      cwd: "/home/azureuser/translation-app/3333_4444__Operational",
      instances: 1,
      autorestart: true,
      max_memory_restart: "200M",
      watch: false,
      env: {
        NODE_ENV: "production",
        PORT: 7777,
        EXTENSION: "3333"
      }
    },
    {
      name: "gateway-4444",
      script: "./gateway-4444.js",
      cwd: "/home/azureuser/translation-app/3333_4444__Operational",
      instances: 1,
      autorestart: true,
      max_memory_restart: "200M",
      watch: false,
      env: {
        NODE_ENV: "production",
        PORT: 8888,
        EXTENSION: "4444"
      }
    },

    // INFRASTRUCTURE
    {
      name: "cloudflared",
      script: "/home/azureuser/cloudflared-linux-amd64",
      args: "tunnel --url http://localhost:8083",
      instances: 1,
      autorestart: true,
      watch: false,
      interpreter: "none",
      env: {
        TUNNEL_URL: "http://localhost:8083"
      }
    }
  ]
};
