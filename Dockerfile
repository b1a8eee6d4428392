# The MMS image: the `mms` CLI, the control worker and the gateway, run from TypeScript with tsx.
FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
# Prisma needs DATABASE_URL even to generate; nothing connects here.
RUN DATABASE_URL=postgresql://placeholder@127.0.0.1:1/placeholder node node_modules/prisma/build/index.js generate
ENTRYPOINT ["node", "bin/mms.js"]
CMD ["--help"]
